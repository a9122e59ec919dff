package publisher

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/redis/go-redis/v9"
)

// Publisher publishes changes as pull requests. It is safe for concurrent
// use; every worker of every process shares its throttles through Redis.
type Publisher struct {
	cfg Config
	thr *throttle
	// cut, when set (tests only), is asked before every write step and
	// simulates a crash there by returning true.
	cut func(step string) bool
}

// New returns a Publisher whose throttles live in rdb.
func New(rdb redis.UniversalClient, cfg Config) *Publisher {
	cfg = cfg.withDefaults()
	return &Publisher{cfg: cfg, thr: &throttle{rdb: rdb, cfg: cfg}}
}

// PullRequestClosed tells the publisher that the campaign's pull request in
// repo was merged or closed, so it no longer counts against
// rollout.maxOpenPRs. The tracker calls it from the pull_request webhook.
func (p *Publisher) PullRequestClosed(ctx context.Context, campaignID int64, repo string) error {
	return p.thr.release(ctx, campaignID, strings.ToLower(repo))
}

// SyncOpenPullRequests replaces what the publisher counts as the
// campaign's open pull requests (for rollout.maxOpenPRs) with repos, the
// repositories whose campaign pull request is open according to the
// database. A sweeper calls it after Redis lost its data or to correct
// drift.
func (p *Publisher) SyncOpenPullRequests(ctx context.Context, campaignID int64, repos []string) error {
	return p.thr.syncOpen(ctx, campaignID, repos)
}

// PausedUntil returns when an installation may write again after GitHub
// answered with a rate limit; zero when it is not paused.
func (p *Publisher) PausedUntil(ctx context.Context, installationID int64) (time.Time, error) {
	return p.thr.pausedUntil(ctx, installationID)
}

// Publish creates or updates the campaign's pull request for one change.
// It returns *Throttled when a budget is spent (reschedule at Until),
// *Permanent when retrying cannot help, and *GitHubError (or a wrapped
// transport error) for anything else. The Output is filled as far as the
// publish got even with an error (a pull request created before a
// throttled decoration has its number).
func (p *Publisher) Publish(ctx context.Context, gh Clients, in Input) (Output, error) {
	ctx = MarkCharged(ctx) // its writes are charged before they are made
	if err := validate(&in); err != nil {
		return Output{}, err
	}
	if gh == nil {
		return Output{}, &Permanent{Reason: ReasonInvalidInput, Detail: "nil GitHub clients"}
	}
	a := &attempt{p: p, gh: gh, in: &in, out: Output{Requests: map[string]int{}}}
	var err error
	for i := 0; i < p.cfg.MaxAttempts; i++ {
		if i > 0 {
			if err := p.backoff(ctx, i, err); err != nil {
				return a.out, err
			}
		}
		err = a.run(ctx)
		var tr *transient
		switch {
		case err == nil:
			return a.out, nil
		case errors.As(err, &tr), errors.Is(err, errConflict):
			continue
		}
		return a.out, p.settle(ctx, in.InstallationID, err)
	}
	return a.out, fmt.Errorf("publish %s: gave up after %d attempts: %w", in.Repository, p.cfg.MaxAttempts, err)
}

// backoff waits before attempt i: a lost race retries at once (the Lookup
// shows the new state), a transient error after jittered exponential
// backoff.
func (p *Publisher) backoff(ctx context.Context, i int, err error) error {
	if errors.Is(err, errConflict) {
		return nil
	}
	d := p.cfg.BackoffBase << (i - 1)
	if d > p.cfg.BackoffMax || d <= 0 {
		d = p.cfg.BackoffMax
	}
	d = d/2 + rand.N(d/2+1)
	return sleep(ctx, d)
}

// settle turns a rate-limit answer into a pause of the whole installation
// and a *Throttled for the caller.
func (p *Publisher) settle(ctx context.Context, inst int64, err error) error {
	var sl *secondaryLimit
	if !errors.As(err, &sl) {
		return err
	}
	now := p.cfg.Clock.Now()
	until := now.Add(sl.wait)
	if sl.wait == 0 {
		until = sl.reset
		if !until.After(now) {
			until = now.Add(time.Minute)
		}
	}
	if perr := p.thr.pause(ctx, inst, until); perr != nil {
		return errors.Join(err, perr)
	}
	reason := "GitHub secondary rate limit: installation paused"
	if sl.primary {
		reason = "GitHub primary rate limit spent: installation paused"
	}
	return &Throttled{Until: until, Reason: reason + " (" + sl.op + ")"}
}

func validate(in *Input) error {
	bad := func(why string) error { return &Permanent{Reason: ReasonInvalidInput, Detail: why} }
	switch {
	case in.Spec == nil:
		return bad("nil spec")
	case in.Result == nil:
		return bad("nil result")
	case in.Result.NoChanges || len(in.Result.Changed)+len(in.Result.Deleted) == 0:
		return &Permanent{Reason: ReasonNoChanges}
	case !strings.Contains(in.Repository, "/"):
		return bad("repository " + in.Repository + " is not owner/name")
	case in.DefaultBranch == "":
		return bad("empty base branch")
	case !isOID(in.Result.BaseSHA):
		return bad("result has no base commit")
	case in.Result.PatchHash == "":
		return bad("result has no patch hash")
	}
	return nil
}

// templateData is what the spec's templates see for this publish.
func templateData(in *Input, url string) spec.TemplateData {
	owner, name, _ := strings.Cut(in.Repository, "/")
	return spec.TemplateData{
		Repository: spec.RepositoryData{Owner: owner, Name: name, FullName: in.Repository, DefaultBranch: in.DefaultBranch, URL: url},
		Campaign: spec.CampaignData{ID: in.CampaignID, Name: in.CampaignName, Description: in.Spec.Description,
			SpecVersion: in.SpecVersion, URL: in.CampaignURL},
	}
}

// isOID accepts SHA-1 and SHA-256 object ids.
func isOID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}
