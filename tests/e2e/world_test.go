// Package e2e_test is the end-to-end suite: campaignbot's server and
// worker (in process, or the worker as a real child process) against
// githubfake, PostgreSQL and Redis, driven by the demo organisation's
// people (fixtures/demo) through the whole life of a campaign — proposal,
// plan, approval, merge, execution, publishing, and the owners' reactions
// the reconciler follows — with faults injected on the way. Every scenario ends with exactly one pull request per
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
		// A moved base is rebased after a second of quiet, not two minutes.
		c.Reconcile.DriftDebounce = time.Second
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

func (w *world) tasks() []store.RepoTask { return w.RunTasks(w.runID) }

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
		c := stack.StateCounts(ts)
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

// reactions is what the owners of the target repositories did to the
// campaign's pull requests, and what the test needs to check the app
// followed.
type reactions struct {
	merged, closed []store.RepoTask
	edited, moved  store.RepoTask
	// personal is the person's commit on the edited pull request's branch;
	// newBase the moved base's new head; files what the moved pull
	// request's campaign commit changed before the move.
	personal, newBase string
	files             []string
}

// react has the developer merge `merge` of the published pull requests,
// close one, push a commit of their own to one and move the base of one
// (so it needs merge+3 of them).
func (w *world) react(ts []store.RepoTask, merge int) reactions {
	w.t.Helper()
	var open []store.RepoTask
	for _, t := range ts {
		if t.State == store.TaskPublished {
			open = append(open, t)
		}
	}
	if len(open) < merge+3 {
		w.t.Fatalf("%d published pull requests, the reactions need %d", len(open), merge+3)
	}
	r := reactions{merged: open[:merge], closed: open[merge : merge+1], edited: open[merge+1], moved: open[merge+2]}
	c, err := w.Fake.Commit(w.ctx, demo.Org, repoName(r.moved), r.moved.HeadSHA)
	if err != nil {
		w.t.Fatal(err)
	}
	r.files = c.Files
	for _, t := range r.merged {
		if _, err := w.Fake.MergePullRequest(w.ctx, demo.Org, repoName(t), t.PRNumber, demo.Developer, "squash"); err != nil {
			w.t.Fatal(err)
		}
	}
	for _, t := range r.closed {
		if err := w.Fake.ClosePullRequest(w.ctx, demo.Org, repoName(t), t.PRNumber, demo.Developer); err != nil {
			w.t.Fatal(err)
		}
	}
	if r.personal, err = w.Fake.PushCommit(w.ctx, demo.Org, repoName(r.edited), r.edited.Branch, demo.Developer, "docs: note the Go bump",
		map[string]string{"CHANGELOG.md": "- Go 1.26\n"}); err != nil {
		w.t.Fatal(err)
	}
	if r.newBase, err = w.Fake.PushCommit(w.ctx, demo.Org, repoName(r.moved), r.moved.BaseBranch, demo.Developer, "docs: on-call rota",
		map[string]string{"ONCALL.md": "# On call\n"}); err != nil {
		w.t.Fatal(err)
	}
	w.Settle()
	return r
}

// waitReconciled waits until the database shows what the reconciler does
// with the sample spec's drift policy (humanEdits: stop, baseChanged:
// rebase): merged and closed tasks, the person's commit recorded, the
// moved pull request re-executed and published again on the new base.
func (w *world) waitReconciled(r reactions) {
	w.t.Helper()
	w.waitUntil("the reconciler to follow the reactions", func() (bool, string) {
		byRepo := map[string]store.RepoTask{}
		for _, t := range w.tasks() {
			byRepo[t.Repository] = t
		}
		var wrong []string
		for _, t := range r.merged {
			if s := byRepo[t.Repository].State; s != store.TaskMerged {
				wrong = append(wrong, t.Repository+" "+s)
			}
		}
		for _, t := range r.closed {
			if s := byRepo[t.Repository].State; s != store.TaskClosed {
				wrong = append(wrong, t.Repository+" "+s)
			}
		}
		if cs := w.changeset(r.edited); cs.HumanEditedSHA != r.personal || cs.Task.State != store.TaskPublished {
			wrong = append(wrong, fmt.Sprintf("%s %s human edit %q", r.edited.Repository, cs.Task.State, cs.HumanEditedSHA))
		}
		if cs := w.changeset(r.moved); cs.Task.State != store.TaskPublished || cs.Task.BaseSHA != r.newBase || cs.Task.HeadSHA == r.moved.HeadSHA {
			wrong = append(wrong, fmt.Sprintf("%s %s on base %s", r.moved.Repository, cs.Task.State, cs.Task.BaseSHA))
		}
		return len(wrong) == 0, strings.Join(wrong, "; ")
	})
}

func (w *world) changeset(t store.RepoTask) store.Changeset {
	w.t.Helper()
	cs, err := w.Store.Changeset(w.ctx, t.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return cs
}

// assertReconciledOnGitHub checks GitHub's final state after the
// reactions: merged changes on the default branch, the closed pull
// request left closed, the person's commit kept as the head with exactly
// one comment from the app saying automation stopped, and the moved pull
// request rewritten as one verified commit with the same change on the
// new base.
func (w *world) assertReconciledOnGitHub(r reactions) {
	w.t.Helper()
	pr := func(t store.RepoTask) githubfake.PullRequestState {
		p, err := w.Fake.PullRequest(demo.Org, repoName(t), t.PRNumber)
		if err != nil {
			w.t.Fatal(err)
		}
		return p
	}
	for _, t := range r.merged {
		if p := pr(t); !p.Merged {
			w.t.Errorf("%s#%d is not merged", t.Repository, t.PRNumber)
		}
		for path, want := range demo.ChangedFiles(w.project(t)) {
			if got, err := w.Fake.FileContent(w.ctx, demo.Org, repoName(t), "main", path); err != nil || got != want {
				w.t.Errorf("%s: %s on main after the merge = %q (%v)", t.Repository, path, got, err)
			}
		}
	}
	for _, t := range r.closed {
		if p := pr(t); p.State != "closed" || p.Merged {
			w.t.Errorf("%s#%d: %s merged=%v, want closed", t.Repository, t.PRNumber, p.State, p.Merged)
		}
	}

	edited := pr(r.edited)
	head, err := w.Fake.BranchSHA(w.ctx, demo.Org, repoName(r.edited), r.edited.Branch)
	if err != nil || head != r.personal || edited.HeadSHA != r.personal || edited.State != "open" {
		w.t.Errorf("%s: branch head %s (%v), PR head %s %s; want the person's commit %s on an open PR",
			r.edited.Repository, head, err, edited.HeadSHA, edited.State, r.personal)
	}
	var fromApp []string
	for i, body := range edited.Comments {
		if edited.CommentUsers[i] == w.Fake.AppSlug()+"[bot]" {
			fromApp = append(fromApp, body)
		}
	}
	if len(fromApp) != 1 || !strings.Contains(fromApp[0], "no longer updates this pull request (`drift.humanEdits: stop`)") ||
		!strings.Contains(fromApp[0], r.personal[:12]) {
		w.t.Errorf("%s: the app's comments %q, want one saying automation stopped at %s", r.edited.Repository, fromApp, r.personal[:12])
	}

	moved := pr(r.moved)
	c, err := w.Fake.Commit(w.ctx, demo.Org, repoName(r.moved), moved.HeadSHA)
	if err != nil {
		w.t.Fatal(err)
	}
	if moved.State != "open" || !slices.Equal(c.Parents, []string{r.newBase}) || !slices.Equal(c.Files, r.files) {
		w.t.Errorf("%s: %s, head commit's parents %v and files %v; want open, one commit on %s changing %v",
			r.moved.Repository, moved.State, c.Parents, c.Files, r.newBase, r.files)
	}
	if !w.Fake.CommitVerified(moved.HeadSHA) {
		w.t.Errorf("%s: the rebased commit %s is not verified", r.moved.Repository, moved.HeadSHA)
	}
	for path, want := range demo.ChangedFiles(w.project(r.moved)) {
		if got, err := w.Fake.FileContent(w.ctx, demo.Org, repoName(r.moved), moved.HeadSHA, path); err != nil || got != want {
			w.t.Errorf("%s: %s after the rebase = %q (%v), want %q", r.moved.Repository, path, got, err, want)
		}
	}
	if got, err := w.Fake.FileContent(w.ctx, demo.Org, repoName(r.moved), moved.HeadSHA, "ONCALL.md"); err != nil || got != "# On call\n" {
		w.t.Errorf("%s: the new base's ONCALL.md is not on the rebased branch: %q %v", r.moved.Repository, got, err)
	}
}

func (w *world) project(t store.RepoTask) demo.Project {
	for _, p := range w.demo.Projects {
		if p.FullName() == t.Repository {
			return p
		}
	}
	w.t.Fatalf("%s is not a demo project", t.Repository)
	return demo.Project{}
}

func repoName(t store.RepoTask) string {
	_, n, _ := strings.Cut(t.Repository, "/")
	return n
}
