// Package e2e_test is the end-to-end suite: campaignbot's server and
// worker (in process, or the worker as a real child process) against
// githubfake, PostgreSQL and Redis, driven by the demo organisation's
// people (fixtures/demo) through the whole life of a campaign — proposal,
// plan, approval, merge, execution, publishing — with faults injected
// on the way. Every scenario ends with exactly one pull request per
// changed repository and nothing lost, checked on GitHub's final state,
// the database and the audit log.
package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/demo"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/fixtures/specs"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

// waitFor bounds every wait of a scenario: faults cost retries, never minutes.
const waitFor = 3 * time.Minute

// repos is the size of the demo organisation in most scenarios: every
// kind of project (Go services, Node, legacy, archived, current) and six
// pull requests.
const repos = 10

type world struct {
	*stack.Stack
	t        *testing.T
	ctx      context.Context
	demo     *demo.World
	refusals *demo.Refusals
	specYAML string
	specName string
	prNumber int
	runID    int64
}

type setup struct {
	repos    int
	opts     stack.Options
	mutate   func(*config.Config)
	specYAML string
}

// newWorld starts the stack and seeds the demo organisation.
func newWorld(t *testing.T, su setup) *world {
	t.Helper()
	if su.repos == 0 {
		su.repos = repos
	}
	if su.specYAML == "" {
		su.specYAML = string(specs.Sandbox)
	}
	refusals := &demo.Refusals{}
	su.opts.Fake = append([]githubfake.Option{githubfake.WithMiddleware(refusals.Middleware)}, su.opts.Fake...)
	s := stack.NewWith(t, su.opts, func(c *config.Config) {
		c.Campaign.ControlRepo = demo.Org + "/" + demo.ControlRepo
		c.Campaign.DashboardEvery = time.Second
		// Dead workers' leases expire and lost queue entries are found fast.
		c.Runner.Lease = 10 * time.Second
		c.Worker.SweepInterval = 500 * time.Millisecond
		c.Worker.SweepAge = 2 * time.Second
		if su.mutate != nil {
			su.mutate(c)
		}
	})
	ctx := context.Background()
	dw, err := demo.Seed(ctx, s.Fake, su.repos)
	if err != nil {
		t.Fatal(err)
	}
	sp, diags := spec.Parse("spec.yaml", []byte(su.specYAML))
	if sp == nil || diags.HasErrors() {
		t.Fatalf("scenario spec: %v", diags.Strings())
	}
	return &world{Stack: s, t: t, ctx: ctx, demo: dw, refusals: refusals, specYAML: su.specYAML, specName: sp.Name}
}

// propose opens the spec's pull request as the author and returns the plan check.
func (w *world) propose() githubfake.CheckRunState {
	w.t.Helper()
	branch := "add-" + w.specName
	sha, err := w.Fake.PushCommit(w.ctx, demo.Org, demo.ControlRepo, branch, demo.Author, "Add campaign",
		map[string]string{"campaigns/" + w.specName + ".yaml": w.specYAML})
	if err != nil {
		w.t.Fatal(err)
	}
	if w.prNumber, err = w.Fake.OpenPullRequest(w.ctx, demo.Org, demo.ControlRepo, githubfake.PullRequestSpec{
		Title: "Add " + w.specName, Head: branch, Base: "main", User: w.Fake.CreateUser(demo.Author)}); err != nil {
		w.t.Fatal(err)
	}
	w.Settle()
	for _, c := range w.Fake.CheckRuns(demo.Org, demo.ControlRepo) {
		if c.HeadSHA == sha && c.Name == "campaign plan: "+w.specName {
			return c
		}
	}
	w.t.Fatalf("no plan check on %s", sha)
	return githubfake.CheckRunState{}
}

// say comments on the spec's pull request and returns the app's reply.
func (w *world) say(user, body string) string {
	w.t.Helper()
	before, err := w.Fake.PullRequest(demo.Org, demo.ControlRepo, w.prNumber)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.Fake.Comment(w.ctx, demo.Org, demo.ControlRepo, w.prNumber, user, body); err != nil {
		w.t.Fatal(err)
	}
	w.Settle()
	after, err := w.Fake.PullRequest(demo.Org, demo.ControlRepo, w.prNumber)
	if err != nil {
		w.t.Fatal(err)
	}
	return strings.Join(after.Comments[len(before.Comments)+1:], "\n")
}

// approveAndMerge has the maintainer approve and merge, and returns the run.
func (w *world) approveAndMerge() int64 {
	w.t.Helper()
	if r := w.say(demo.Maintainer, "/campaign approve"); !strings.Contains(r, "✅") {
		w.t.Fatalf("maintainer's approval: %s", r)
	}
	return w.merge()
}

func (w *world) merge() int64 {
	w.t.Helper()
	if _, err := w.Fake.MergePullRequest(w.ctx, demo.Org, demo.ControlRepo, w.prNumber, demo.Maintainer, "squash"); err != nil {
		w.t.Fatal(err)
	}
	w.Settle()
	c, ok, err := w.Store.CampaignByName(w.ctx, demo.Org+"/"+demo.ControlRepo, w.specName)
	if err != nil || !ok {
		w.t.Fatalf("campaign %s after merge: %v %v", w.specName, ok, err)
	}
	run, ok, err := w.Store.LatestRun(w.ctx, c.ID)
	if err != nil || !ok {
		w.t.Fatalf("no run after merge: %v %v", ok, err)
	}
	w.runID = run.ID
	return w.runID
}

func (w *world) tasks() []store.RepoTask {
	w.t.Helper()
	ts, err := w.Store.RunTasks(w.ctx, w.runID)
	if err != nil {
		w.t.Fatal(err)
	}
	return ts
}

func counts(ts []store.RepoTask) map[string]int {
	out := map[string]int{}
	for _, t := range ts {
		out[t.State]++
	}
	return out
}

// waitUntil polls cond (with a description of the state for the failure) until it holds.
func (w *world) waitUntil(what string, cond func() (bool, string)) {
	w.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s waiting for %s; state: %s", waitFor, what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPublished waits until every task rests: published or no change.
func (w *world) waitPublished() []store.RepoTask {
	w.t.Helper()
	var ts []store.RepoTask
	w.waitUntil("every repository executed and published", func() (bool, string) {
		ts = w.tasks()
		c := counts(ts)
		return c[store.TaskPublished]+c[store.TaskNoChanges] == len(ts) && len(ts) > 0, fmt.Sprint(c)
	})
	return ts
}

// assertOnePRPerChangedRepo checks GitHub's final state against the demo
// world's prediction: every changed repository has exactly one open
// campaign pull request whose branch holds the change in one verified
// commit on the base; no other repository has one; the database agrees.
func (w *world) assertOnePRPerChangedRepo(ts []store.RepoTask) {
	w.t.Helper()
	byRepo := map[string]store.RepoTask{}
	for _, t := range ts {
		byRepo[t.Repository] = t
	}
	var targets []string
	for r := range byRepo {
		targets = append(targets, r)
	}
	sort.Strings(targets)
	if !slices.Equal(targets, w.demo.Targeted()) {
		w.t.Errorf("run targets %v, want %v", targets, w.demo.Targeted())
	}
	changed := map[string]bool{}
	for _, r := range w.demo.Changed() {
		changed[r] = true
	}
	for _, p := range w.demo.Projects {
		var ours []githubfake.PullRequestState
		for _, n := range w.Fake.PullRequests(demo.Org, p.Name) {
			pr, err := w.Fake.PullRequest(demo.Org, p.Name, n)
			if err != nil {
				w.t.Fatal(err)
			}
			if strings.HasPrefix(pr.Head, spec.BranchPrefix) {
				ours = append(ours, pr)
			}
		}
		if !changed[p.FullName()] {
			if len(ours) != 0 {
				w.t.Errorf("%s: %d campaign pull requests, want none", p.FullName(), len(ours))
			}
			if t, ok := byRepo[p.FullName()]; ok && t.State != store.TaskNoChanges {
				w.t.Errorf("%s: task %s, want no_changes", p.FullName(), t.State)
			}
			continue
		}
		if len(ours) != 1 {
			w.t.Errorf("%s: %d campaign pull requests, want exactly one", p.FullName(), len(ours))
			continue
		}
		pr := ours[0]
		t := byRepo[p.FullName()]
		if t.State != store.TaskPublished || t.PRNumber != pr.Number || t.Branch != pr.Head {
			w.t.Errorf("%s: task %s PR #%d branch %s; GitHub has #%d on %s", p.FullName(), t.State, t.PRNumber, t.Branch, pr.Number, pr.Head)
		}
		if pr.State != "open" || pr.Base != "main" || !strings.HasPrefix(pr.Title, "chore: bump Go to 1.26 in "+p.Name) {
			w.t.Errorf("%s: PR %+v", p.FullName(), pr)
		}
		if !slices.Contains(pr.Labels, "automated") || !slices.Contains(pr.Labels, "dependencies") {
			w.t.Errorf("%s: labels %v", p.FullName(), pr.Labels)
		}
		for path, want := range demo.ChangedFiles(p) {
			got, err := w.Fake.FileContent(w.ctx, demo.Org, p.Name, pr.Head, path)
			if err != nil || got != want {
				w.t.Errorf("%s: %s on %s = %q (%v), want %q", p.FullName(), path, pr.Head, got, err, want)
			}
		}
		if !w.Fake.CommitVerified(pr.HeadSHA) {
			w.t.Errorf("%s: the campaign commit %s is not verified", p.FullName(), pr.HeadSHA)
		}
		if base, err := w.Fake.BranchSHA(w.ctx, demo.Org, p.Name, "main"); err != nil || base != t.BaseSHA {
			w.t.Errorf("%s: main moved or unreadable: %s vs %s (%v)", p.FullName(), base, t.BaseSHA, err)
		}
	}
}

// dashboard is the run's check run on the control repository.
func (w *world) dashboard() (githubfake.CheckRunState, bool) {
	var got githubfake.CheckRunState
	found := false
	for _, c := range w.Fake.CheckRuns(demo.Org, demo.ControlRepo) {
		if c.Name == "campaign: "+w.specName {
			got, found = c, true
		}
	}
	return got, found
}

// waitDashboard waits until the dashboard counts every task in a final state.
func (w *world) waitDashboard(n int) githubfake.CheckRunState {
	w.t.Helper()
	var d githubfake.CheckRunState
	w.waitUntil("the dashboard to show every repository done", func() (bool, string) {
		var ok bool
		d, ok = w.dashboard()
		want := fmt.Sprintf("%d/%d repositories done", n, n)
		return ok && strings.Contains(d.Title, want), d.Title
	})
	return d
}
