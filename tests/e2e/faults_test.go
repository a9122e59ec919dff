package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/demo"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/fixtures/specs"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

// slowSpec is the sample spec with a first step that takes a while, so
// that a fault lands while repositories are being executed.
func slowSpec(seconds int) string {
	return strings.Replace(string(specs.Sandbox), "steps:\n",
		fmt.Sprintf("steps:\n  - name: think\n    image: alpine:3.20\n    run: sleep %d\n    timeout: 1m\n", seconds), 1)
}

// TestWorkerKilledMidRun: the worker is a real process, SIGKILLed while
// it executes; a new worker finishes the run from the database alone.
func TestWorkerKilledMidRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{specYAML: slowSpec(3), opts: stack.Options{NoWorker: true}})
	child := startChildWorker(t, w.Config)
	w.propose()
	w.approveAndMerge()
	w.waitUntil("repositories executing in the child worker", func() (bool, string) {
		c := stack.StateCounts(w.tasks())
		return c[store.TaskRunning] > 0, fmt.Sprint(c)
	})
	child.kill(t)
	before := stack.StateCounts(w.tasks())
	t.Logf("killed the worker with tasks %v", before)

	w.StartWorker()
	ts := w.waitPublished()
	w.assertOnePRPerChangedRepo(ts)
	w.waitDashboard(len(ts))
}

// TestRedisFlushedMidRun: Redis (the queue, the throttles) is wiped
// twice — while repositories execute and while pull requests are being
// published. PostgreSQL is the source of truth: the sweepers put the
// lost work back and nothing is done twice.
func TestRedisFlushedMidRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{specYAML: slowSpec(2)})
	w.propose()
	w.approveAndMerge()
	rdb := redisClient(t, w.Config.RedisURL)
	w.waitUntil("repositories executing", func() (bool, string) {
		c := stack.StateCounts(w.tasks())
		return c[store.TaskRunning] > 0, fmt.Sprint(c)
	})
	if err := rdb.FlushDB(w.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	w.waitUntil("a first pull request", func() (bool, string) {
		c := stack.StateCounts(w.tasks())
		return c[store.TaskPublished] > 0, fmt.Sprint(c)
	})
	if err := rdb.FlushDB(w.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	ts := w.waitPublished()
	w.assertOnePRPerChangedRepo(ts)
	w.waitDashboard(len(ts))
}

// TestPostgresCutMidRun: every connection to PostgreSQL drops and new
// ones are refused for a few seconds while repositories execute, and
// again while the dashboard catches up, as when the database restarts or
// fails over (through a TCP proxy: the machine's PostgreSQL is shared).
// Work resumes; nothing is lost.
//
// A cut while a pull request is being published leaves its task
// "publishing" until the publish lease (5 minutes, fixed in the worker)
// runs out; then the publish is retried and finds its pull request. That
// wait is too long for this suite, so the cuts avoid that window.
func TestPostgresCutMidRun(t *testing.T) {
	t.Parallel()
	var proxy *tcpProxy
	w := newWorld(t, setup{specYAML: slowSpec(4), mutate: func(c *config.Config) {
		proxy, c.DatabaseURL = newTCPProxy(t, c.DatabaseURL)
	}})
	w.propose()
	w.approveAndMerge()
	w.waitUntil("repositories executing", func() (bool, string) {
		c := stack.StateCounts(w.tasks())
		return c[store.TaskRunning] > 0, fmt.Sprint(c)
	})
	proxy.cut(3 * time.Second)
	ts := w.waitPublished()
	proxy.cut(2 * time.Second)
	w.assertOnePRPerChangedRepo(ts)
	w.waitDashboard(len(ts))
	if proxy.cuts() != 2 {
		t.Fatalf("the proxy cut %d times", proxy.cuts())
	}
}

// TestGitHubSecondaryLimitsAnd502s: once the run starts, GitHub answers
// 30% of content-creating requests with a secondary-limit refusal
// (403, Retry-After) and 15% of all API requests with 502. The app
// waits and retries; every changed repository still gets exactly one
// pull request.
func TestGitHubSecondaryLimitsAnd502s(t *testing.T) {
	t.Parallel()
	chaos := &githubChaos{secondaryRate: 0.3, badGatewayRate: 0.15}
	w := newWorld(t, setup{opts: stack.Options{Fake: []githubfake.Option{githubfake.WithMiddleware(chaos.middleware)}}})
	w.propose()
	w.approveAndMerge()
	chaos.enable()
	ts := w.waitPublished()
	w.waitDashboard(len(ts))
	chaos.disable()
	w.assertOnePRPerChangedRepo(ts)
	sec, bad := chaos.counts()
	if sec == 0 || bad == 0 {
		t.Fatalf("the faults did not fire: %d secondary-limit answers, %d 502s", sec, bad)
	}
	if r := w.refusals.Counts(); r.SecondaryLimit != sec || r.ServerErrors != bad {
		t.Errorf("refusals seen %+v, injected %d secondary and %d 502", r, sec, bad)
	}
	t.Logf("injected %d secondary-limit answers and %d 502s", sec, bad)
}

// TestLostWebhooks: 30% of webhook deliveries never reach the app, from
// the spec's pull request on. The operator redelivers the failed ones
// (GitHub keeps them, as githubfake does) for the control repository's
// flow; the run needs no webhook to execute and publish.
func TestLostWebhooks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	drop := newLossyHook(t, w.Server.URL, 0.3)
	w.Fake.SetWebhook(drop.URL+"/api/github/hook", stack.WebhookSecret)
	w.propose()
	w.redeliverUntilSettled()
	w.say(demo.Maintainer, "/campaign approve")
	w.redeliverUntilSettled()
	if _, err := w.Fake.MergePullRequest(w.ctx, demo.Org, demo.ControlRepo, w.prNumber, demo.Maintainer, "squash"); err != nil {
		t.Fatal(err)
	}
	w.redeliverUntilSettled()
	c, ok, err := w.Store.CampaignByName(w.ctx, w.demo.Control(), w.specName)
	if err != nil || !ok {
		t.Fatalf("campaign: %v %v", ok, err)
	}
	var runs int
	if err := w.Store.Pool().QueryRow(w.ctx, `SELECT count(*), max(id) FROM runs WHERE campaign_id = $1`, c.ID).Scan(&runs, &w.runID); err != nil || runs != 1 {
		t.Fatalf("runs: %d %v", runs, err)
	}
	ts := w.waitPublished()
	w.redeliverUntilSettled()
	w.assertOnePRPerChangedRepo(ts)
	if drop.dropped() == 0 {
		t.Fatal("no delivery was lost")
	}
	t.Logf("%d of %d deliveries lost on the first attempt", drop.dropped(), drop.total())
}

// redeliverUntilSettled is the operator pressing "Redeliver" on every
// failed delivery until none is left.
func (w *world) redeliverUntilSettled() {
	w.t.Helper()
	for range 20 {
		w.Settle()
		if len(w.Fake.FailedDeliveries()) == 0 {
			return
		}
		if _, err := w.Fake.RedeliverFailed(w.ctx); err != nil {
			w.t.Fatal(err)
		}
	}
	w.t.Fatalf("%d deliveries still failing after 20 rounds", len(w.Fake.FailedDeliveries()))
}
