package publisher

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner"
)

func mustThrottled(t *testing.T, err error) *Throttled {
	t.Helper()
	var th *Throttled
	if !errors.As(err, &th) {
		t.Fatalf("err %v, want *Throttled", err)
	}
	return th
}

// A secondary limit GitHub enforces and the publisher did not expect
// pauses the whole installation for retry-after: another publish in the
// same installation makes no request until then, and both complete after.
func TestSecondaryLimitPausesInstallation(t *testing.T) {
	lim := githubfake.DefaultLimits()
	lim.ContentPerMinute = 5 // GitHub is stricter than the publisher believes (80)
	e := newEnv(t, envOpts{repos: 3, limits: &lim})
	ins := make([]Input, 3)
	for i := range ins {
		ins[i] = e.input(e.repo(i), 1, result(e.baseSHA(e.repo(i)), textChange("x\n")))
	}
	if _, err := e.pub.Publish(e.ctx, e.gh, ins[0]); err != nil { // 5 units: GitHub's minute is full
		t.Fatal(err)
	}
	_, err := e.pub.Publish(e.ctx, e.gh, ins[1])
	th := mustThrottled(t, err)
	if !strings.Contains(th.Reason, "GitHub secondary rate limit") || !th.Until.Equal(e.clock.Now().Add(time.Minute)) {
		t.Fatalf("throttled %v at %v, want GitHub's retry-after of a minute", th, e.clock.Now())
	}
	paused, err := e.pub.PausedUntil(e.ctx, ins[1].InstallationID)
	if err != nil || !paused.Equal(th.Until) {
		t.Fatalf("paused until %v (%v), want %v", paused, err, th.Until)
	}
	// Another worker (another Publisher on the same Redis) sees the pause
	// and sends nothing.
	other := New(e.rdb, Config{Clock: e.clock})
	before := e.fake.Stats().Categories["graphql"]
	_, err = other.Publish(e.ctx, e.gh, ins[2])
	if th2 := mustThrottled(t, err); !th2.Until.Equal(th.Until) {
		t.Errorf("other worker throttled until %v, want %v", th2.Until, th.Until)
	}
	if after := e.fake.Stats().Categories["graphql"]; after != before {
		t.Errorf("a paused installation sent %d requests", after-before)
	}
	e.clock.Set(th.Until.Add(-time.Second))
	if _, err := other.Publish(e.ctx, e.gh, ins[2]); err == nil {
		t.Errorf("published before the pause ended")
	}
	e.clock.Set(th.Until)
	for _, in := range ins[1:] {
		out, err := e.publish(in)
		if err != nil {
			t.Fatal(err)
		}
		e.checkPR(in.Repository, 1, in.Result, out)
	}
}

func TestServerErrorsRetryWithBackoff(t *testing.T) {
	e := newEnv(t, envOpts{repos: 3})
	e.fake.InjectFault(githubfake.Fault{Route: "POST /graphql", Times: 2, Status: 502})
	in := e.input(e.repo(0), 1, result(e.baseSHA(e.repo(0)), textChange("a\n")))
	out, err := e.publish(in)
	if err != nil {
		t.Fatal(err)
	}
	e.checkPR(in.Repository, 1, in.Result, out)
	if out.Requests["graphql query Lookup"] != 3 {
		t.Errorf("requests %v, want two failed Lookups and a good one", out.Requests)
	}
	// A 500 in the middle of the Git Data path: the next attempt starts
	// from the Lookup and finishes.
	e.fake.InjectFault(githubfake.Fault{Route: "POST /repos/{owner}/{repo}/git/commits", Times: 1, Status: 500})
	exec := e.input(e.repo(1), 1, result(e.baseSHA(e.repo(1)), []runner.FileChange{{Path: "run.sh", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: []byte("#!/bin/sh\n")}}))
	out, err = e.publish(exec)
	if err != nil {
		t.Fatal(err)
	}
	e.checkPR(exec.Repository, 1, exec.Result, out)
	if out.Requests["POST git/commits"] != 2 || out.Requests["POST git/trees"] != 2 {
		t.Errorf("requests %v, want the Git Data path twice", out.Requests)
	}
	// A server that keeps failing: bounded, a plain error, not throttled.
	remove := e.fake.InjectFault(githubfake.Fault{Route: "POST /graphql", Status: 500})
	defer remove()
	in = e.input(e.repo(2), 1, result(e.baseSHA(e.repo(2)), textChange("b\n")))
	out, err = e.pub.Publish(e.ctx, e.gh, in)
	var tr *transient
	if !errors.As(err, &tr) || out.Requests["graphql query Lookup"] != 4 {
		t.Errorf("err %v requests %v, want a transient error after 4 attempts", err, out.Requests)
	}
}

// The installation's budget holds: with the publisher and GitHub agreeing
// on small limits, publishing never meets a secondary limit, and takes the
// virtual time the limits impose.
func TestInstallationThrottleHolds(t *testing.T) {
	lim := githubfake.DefaultLimits()
	lim.ContentPerMinute, lim.ContentPerHour = 10, 25
	e := newEnv(t, envOpts{repos: 8, limits: &lim, cfg: Config{ContentPerMinute: 10, ContentPerHour: 25}})
	throttled := 0
	for i := range 8 {
		in := e.input(e.repo(i), 1, result(e.baseSHA(e.repo(i)), textChange("x\n")))
		for {
			out, err := e.pub.Publish(e.ctx, e.gh, in)
			var th *Throttled
			if errors.As(err, &th) {
				if strings.Contains(th.Reason, "GitHub") {
					t.Fatalf("GitHub refused: %v", th)
				}
				throttled++
				e.clock.Set(th.Until)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			e.checkPR(in.Repository, 1, in.Result, out)
			break
		}
	}
	// 8 pull requests x 5 units = 40 units at 25 an hour: the 26th unit
	// waits for the first hour to pass; 10 a minute spreads the first 25
	// over 2 minutes.
	elapsed := e.clock.Now().Sub(epoch)
	if elapsed < time.Hour || elapsed > time.Hour+5*time.Minute || throttled == 0 {
		t.Errorf("elapsed %v (throttled %d times), want just over an hour", elapsed, throttled)
	}
}

func TestCampaignThrottles(t *testing.T) {
	t.Run("prsPerHour", func(t *testing.T) {
		e := newEnv(t, envOpts{repos: 4})
		for i := range 4 {
			in := e.input(e.repo(i), 1, result(e.baseSHA(e.repo(i)), textChange("x\n")))
			in.Spec.Rollout.PRsPerHour = 3
			_, err := e.pub.Publish(e.ctx, e.gh, in)
			if i < 3 && err != nil {
				t.Fatal(err)
			}
			if i == 3 {
				th := mustThrottled(t, err)
				if !th.Until.Equal(epoch.Add(time.Hour)) || !strings.Contains(th.Reason, "prs") {
					t.Errorf("throttled %v, want until %v", th, epoch.Add(time.Hour))
				}
				// Updating an existing pull request is not a new one.
				upd := e.input(e.repo(0), 2, result(e.baseSHA(e.repo(0)), textChange("y\n")))
				upd.Spec.Rollout.PRsPerHour = 3
				if _, err := e.pub.Publish(e.ctx, e.gh, upd); err != nil {
					t.Errorf("update under a spent prsPerHour: %v", err)
				}
				e.clock.Set(th.Until)
				if _, err := e.pub.Publish(e.ctx, e.gh, in); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	t.Run("maxOpenPRs", func(t *testing.T) {
		e := newEnv(t, envOpts{repos: 4, cfg: Config{OpenPRsRecheck: 10 * time.Minute}})
		ins := make([]Input, 3)
		for i := range ins {
			ins[i] = e.input(e.repo(i), 1, result(e.baseSHA(e.repo(i)), textChange("x\n")))
			ins[i].Spec.Rollout.MaxOpenPRs = 2
		}
		for _, in := range ins[:2] {
			if _, err := e.pub.Publish(e.ctx, e.gh, in); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.pub.Publish(e.ctx, e.gh, ins[2])
		if th := mustThrottled(t, err); !th.Until.Equal(epoch.Add(10*time.Minute)) || !strings.Contains(th.Reason, "maxOpenPRs") {
			t.Errorf("throttled %v", th)
		}
		// Re-publishing an open one does not count twice.
		if _, err := e.pub.Publish(e.ctx, e.gh, ins[0]); err != nil {
			t.Errorf("republish: %v", err)
		}
		if err := e.pub.PullRequestClosed(e.ctx, 42, ins[0].Repository); err != nil {
			t.Fatal(err)
		}
		if _, err := e.pub.Publish(e.ctx, e.gh, ins[2]); err != nil {
			t.Errorf("after a merge: %v", err)
		}
		// A sweeper rewrites the set from the database: two open again.
		if err := e.pub.SyncOpenPullRequests(e.ctx, 42, []string{ins[1].Repository, ins[2].Repository}); err != nil {
			t.Fatal(err)
		}
		other := e.input(e.repo(3), 1, result(e.baseSHA(e.repo(3)), textChange("x\n")))
		other.Spec.Rollout.MaxOpenPRs = 2
		if _, err := e.pub.Publish(e.ctx, e.gh, other); !strings.Contains(fmt.Sprint(err), "maxOpenPRs") {
			t.Errorf("after sync: %v, want maxOpenPRs", err)
		}
	})
}

func TestGlobalThrottleSpansInstallations(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{GlobalContentPerMinute: 6}})
	beta, err := e.fake.CreateOrg(e.ctx, githubfake.OrgSpec{Name: "beta", Repos: 1, Members: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pub.Publish(e.ctx, e.gh, e.input(e.repo(0), 1, result(e.baseSHA(e.repo(0)), textChange("x\n")))); err != nil {
		t.Fatal(err)
	}
	betaRepo := "beta/" + beta.Repos[0]
	base, err := e.fake.BranchSHA(e.ctx, "beta", beta.Repos[0], "main")
	if err != nil {
		t.Fatal(err)
	}
	in := e.input(betaRepo, 1, result(base, textChange("y\n")))
	in.InstallationID = beta.InstallationID
	_, err = e.pub.Publish(e.ctx, e.gh, in) // throttled before any request
	if th := mustThrottled(t, err); !th.Until.Equal(epoch.Add(time.Minute)) || !strings.Contains(th.Reason, "global") {
		t.Errorf("throttled %v", th)
	}
}

// A spent primary GraphQL budget pauses the installation until GitHub's
// reset, like a secondary limit.
func TestPrimaryLimitPausesUntilReset(t *testing.T) {
	lim := githubfake.DefaultLimits()
	lim.GraphQLPointsPerHour = 4
	e := newEnv(t, envOpts{repos: 2, limits: &lim})
	if _, err := e.pub.Publish(e.ctx, e.gh, e.input(e.repo(0), 1, result(e.baseSHA(e.repo(0)), textChange("x\n")))); err != nil {
		t.Fatal(err)
	}
	in := e.input(e.repo(1), 1, result(e.baseSHA(e.repo(1)), textChange("x\n")))
	_, err := e.pub.Publish(e.ctx, e.gh, in)
	th := mustThrottled(t, err)
	if !strings.Contains(th.Reason, "primary") || th.Until.Before(epoch.Add(59*time.Minute)) || th.Until.After(epoch.Add(time.Hour)) {
		t.Fatalf("throttled %v, want the hourly reset", th)
	}
	e.clock.Set(th.Until)
	out, err := e.publish(in)
	if err != nil {
		t.Fatal(err)
	}
	e.checkPR(in.Repository, 1, in.Result, out)
}

// Waiting publishes are told their own turn: playing GitHub's sliding
// windows forward, 16 five-unit publishes a minute, 100 an hour.
func TestThrottleLineGivesEachWaiterItsTurn(t *testing.T) {
	e := newEnv(t, envOpts{})
	thr := e.pub.thr
	turns := map[time.Duration]int{}
	var pending []string
	for i := range 120 {
		repo := fmt.Sprintf("acme/r%03d", i)
		_, err := thr.acquire(e.ctx, charge{installation: 7, campaign: 1, repo: repo, units: 5})
		if err == nil {
			turns[0]++
			continue
		}
		th := mustThrottled(t, err)
		turns[th.Until.Sub(epoch)]++
		pending = append(pending, repo)
	}
	want := map[time.Duration]int{0: 16, time.Minute: 16, 2 * time.Minute: 16, 3 * time.Minute: 16, 4 * time.Minute: 16,
		5 * time.Minute: 16, 6 * time.Minute: 4, time.Hour: 16, time.Hour + time.Minute: 4}
	for d, n := range want {
		if turns[d] != n {
			t.Errorf("turns %v, want %v", turns, want)
			break
		}
	}
	// Everyone who comes back at their turn is admitted.
	for _, d := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 6 * time.Minute, time.Hour, time.Hour + time.Minute} {
		e.clock.Set(epoch.Add(d))
		var still []string
		for _, repo := range pending[:min(len(pending), want[d])] {
			if _, err := thr.acquire(e.ctx, charge{installation: 7, campaign: 1, repo: repo, units: 5}); err != nil {
				t.Errorf("at %v %s: %v", d, repo, err)
				still = append(still, repo)
			}
		}
		pending = append(still, pending[min(len(pending), want[d]):]...)
	}
	if len(pending) != 0 {
		t.Errorf("%d never admitted", len(pending))
	}
}
