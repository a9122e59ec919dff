package app

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/publisher"
)

// writeCounter records an installation's content-creating requests made
// outside the publisher (publisher.Publisher.Debit).
type writeCounter interface {
	Debit(ctx context.Context, installationID int64, units int) error
}

// countingCreator is a ClientCreator whose installation clients record
// every REST write — dashboard updates, ChatOps replies and reactions, the
// reconciler's comments — in the installation's content budget, so the
// publisher leaves room for them under GitHub's secondary limit. The
// publisher's own requests are charged before they are made and are not
// counted again (publisher.Charged).
type countingCreator struct {
	githubapp.ClientCreator
	writes writeCounter
}

func countWrites(cc githubapp.ClientCreator, w writeCounter) githubapp.ClientCreator {
	return countingCreator{ClientCreator: cc, writes: w}
}

// NewInstallationClient implements githubapp.ClientCreator.
func (c countingCreator) NewInstallationClient(installationID int64) (*github.Client, error) {
	gc, err := c.ClientCreator.NewInstallationClient(installationID)
	if err != nil {
		return nil, err
	}
	hc := gc.Client() // a copy: the installation's token transport, caching, timeout
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = countingTransport{base: base, installation: installationID, writes: c.writes}
	nc := github.NewClient(hc)
	nc.BaseURL, nc.UploadURL, nc.UserAgent = gc.BaseURL, gc.UploadURL, gc.UserAgent
	return nc, nil
}

type countingTransport struct {
	base         http.RoundTripper
	installation int64
	writes       writeCounter
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || !contentCreating(req) || resp.StatusCode >= 400 || publisher.Charged(req.Context()) {
		return resp, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), time.Second)
	defer cancel()
	if derr := t.writes.Debit(ctx, t.installation, 1); derr != nil {
		// The write happened; only the accounting is short by one.
		zerolog.Ctx(req.Context()).Warn().Err(derr).Int64("installation_id", t.installation).Msg("could not record a write in the content budget")
	}
	return resp, err
}

// contentCreating: a REST write. GraphQL documents go to /graphql and only
// the publisher sends mutations; it charges them itself.
func contentCreating(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return !strings.HasSuffix(req.URL.Path, "/graphql")
}
