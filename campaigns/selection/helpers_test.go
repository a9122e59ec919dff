package selection_test

import (
	"context"
	"testing"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/selection"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
)

// v4Client builds the installation's GraphQL client the way the app does.
func v4Client(t testing.TB, f *githubfake.Fake, installationID int64) selection.GraphQL {
	return v4ClientAt(t, f, f.V4URL(), installationID)
}

// v4ClientAt is v4Client with another GraphQL endpoint (a proxy).
func v4ClientAt(t testing.TB, f *githubfake.Fake, v4URL string, installationID int64) selection.GraphQL {
	t.Helper()
	cfg := githubapp.Config{V3APIURL: f.V3URL(), V4APIURL: v4URL}
	cfg.App.IntegrationID = f.AppID()
	cfg.App.PrivateKey = string(f.PrivateKeyPEM())
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v4, err := cc.NewInstallationV4Client(installationID)
	if err != nil {
		t.Fatal(err)
	}
	return v4
}

// graphQLRequests is how many GraphQL requests the fake served.
func graphQLRequests(f *githubfake.Fake) int { return f.Stats().Categories["graphql"] }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func setRepo(t testing.TB, f *githubfake.Fake, full string, fn func(*githubfake.Repo)) {
	t.Helper()
	owner, name := split(full)
	must(t, f.SetRepo(owner, name, fn))
}

func split(full string) (string, string) {
	for i := range full {
		if full[i] == '/' {
			return full[:i], full[i+1:]
		}
	}
	return full, ""
}

var _ = context.Background
