// Package runcontrol_test drives real runs (worker, queue, PostgreSQL,
// githubfake pull requests) through run control: rollout waves, the
// failure-rate pause, pause/resume, the kill switch, cancel, retry, skip,
// snooze and completion, checking GitHub's final state and the dashboard.
package runcontrol_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

const baseSpec = `version: 1
name: touch
targets:
  query: "org:octo-org"
steps:
  - name: touch
    run: echo hi > HELLO
pullRequest:
  title: add HELLO
`

// executor writes HELLO on the real base commit; it can hold, fail or
// find nothing to change, and records the order repositories started in.
type executor struct {
	mu       sync.Mutex
	order    []string
	hold     map[string]chan struct{}
	fail     func(req runner.Request) error
	noChange bool
}

func (e *executor) Execute(ctx context.Context, req runner.Request) (*runner.Result, error) {
	e.mu.Lock()
	e.order = append(e.order, req.Repository)
	hold, fail, none := e.hold[req.Repository], e.fail, e.noChange
	e.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(req); err != nil {
			return nil, err
		}
	}
	if none {
		return &runner.Result{NoChanges: true, BaseSHA: req.BaseSHA}, nil
	}
	return &runner.Result{Changed: []runner.FileChange{{Path: "HELLO", Mode: runner.ModeFile, Content: []byte("hi " + req.Repository + "\n")}},
		PatchHash: "h-" + req.Repository + "-" + req.BaseSHA[:8], BaseSHA: req.BaseSHA}, nil
}

func (e *executor) started() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.order)
}

type world struct {
	*stack.Stack
	ctx        context.Context
	exec       *executor
	control    *orchestrator.Control
	run        store.Run
	repos      []string
	controlSHA string
}

// newWorld seeds repos repositories and a campaign with specYAML, starts
// its run and a worker that publishes to the fake.
func newWorld(t *testing.T, repos int, specYAML string, exec *executor) *world {
	s := stack.New(t, func(c *config.Config) {
		c.Runner.Lease = 10 * time.Second
		c.Worker.SweepInterval = time.Hour
		c.Campaign.DashboardEvery = time.Second
	})
	s.StopWorker()
	ctx := context.Background()
	org, err := s.Fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "octo-org", Repos: repos})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fake.CreateRepo(ctx, "octo-org", githubfake.RepoSpec{Name: "platform"}); err != nil {
		t.Fatal(err)
	}
	w := &world{Stack: s, ctx: ctx, exec: exec}
	if w.controlSHA, err = s.Fake.BranchSHA(ctx, "octo-org", "platform", "main"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Store.ApplySpecSync(ctx, store.SpecSync{ControlRepo: "octo-org/platform", CommitSHA: w.controlSHA,
		Valid: []store.SyncedSpec{{Name: "touch", Path: "campaigns/touch.yaml", YAML: specYAML, ContentHash: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, diags := spec.Parse("touch.yaml", []byte(specYAML))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var tg stack.StaticTargets
	for i := range repos {
		name := fmt.Sprintf("repo-%04d", i+1)
		sha, err := s.Fake.BranchSHA(ctx, "octo-org", name, "main")
		if err != nil {
			t.Fatal(err)
		}
		tg = append(tg, orchestrator.Target{FullName: "octo-org/" + name, ID: int64(i + 1), DefaultBranch: "main", HeadSHA: sha})
		w.repos = append(w.repos, "octo-org/"+name)
	}
	q := s.Queue(s.Redis())
	cc := s.ClientCreator()
	dashboards := s.Dashboards(cc, q)
	starter := orchestrator.NewStarter(s.Store, tg, q, dashboards)
	completion := orchestrator.NewCompletion(s.Store, q, dashboards)
	w.control = orchestrator.NewControl(orchestrator.ControlConfig{Store: s.Store, Starter: starter, Queue: q, Publish: q, Close: q,
		Heads: tasks.BranchHeads{ClientCreator: cc}, Progress: dashboards, Settle: completion})
	v := res.NewVersions[0]
	if w.run, _, err = starter.Start(ctx, orchestrator.StartInput{CampaignID: v.CampaignID, Version: v, Spec: parsed,
		InstallationID: org.InstallationID, ControlSHA: w.controlSHA}); err != nil {
		t.Fatal(err)
	}
	s.StartWorker(app.WithExecutor(exec), app.WithResultStore(stack.NewMemResults()))
	return w
}

func (w *world) tasks() []store.RepoTask { return w.RunTasks(w.run.ID) }

func (w *world) states() map[string]int { return w.TaskStates(w.run.ID) }

func (w *world) runState() string {
	w.T.Helper()
	r, err := w.Store.GetRun(w.ctx, w.run.ID)
	if err != nil {
		w.T.Fatal(err)
	}
	return r.State
}

// openPRs counts campaign pull requests open on the fake, by repository.
func (w *world) openPRs() int {
	n := 0
	for _, repo := range w.repos {
		name := strings.TrimPrefix(repo, "octo-org/")
		for _, num := range w.Fake.PullRequests("octo-org", name) {
			if pr, err := w.Fake.PullRequest("octo-org", name, num); err == nil && pr.State == "open" {
				n++
			}
		}
	}
	return n
}

func (w *world) dashboard() githubfake.CheckRunState {
	for _, c := range w.Fake.CheckRuns("octo-org", "platform") {
		if c.Name == "campaign: touch" && c.HeadSHA == w.controlSHA {
			return c
		}
	}
	return githubfake.CheckRunState{}
}

func (w *world) waitDashboard(what string, cond func(githubfake.CheckRunState) bool) githubfake.CheckRunState {
	w.T.Helper()
	w.WaitFor("dashboard: "+what, func() bool { return cond(w.dashboard()) })
	return w.dashboard()
}

func TestWavesPublishInOrder(t *testing.T) {
	w := newWorld(t, 6, baseSpec+"rollout:\n  waves: [2]\n", &executor{})
	if st := w.states(); st[store.TaskQueued] != 2 || st[store.TaskPending] != 4 {
		t.Fatalf("at start: %v (the first wave queued, the rest pending)", st)
	}
	w.WaitFor("every PR published", func() bool { return w.states()[store.TaskPublished] == 6 })
	order := w.exec.started()
	if len(order) != 6 {
		t.Fatalf("started %v", order)
	}
	firstWave := map[string]bool{}
	for _, tk := range w.tasks() {
		if tk.Wave == 0 {
			firstWave[tk.Repository] = true
		}
	}
	if len(firstWave) != 2 || !firstWave[order[0]] || !firstWave[order[1]] {
		t.Fatalf("start order %v: the first wave %v must run before the rest", order, firstWave)
	}
	if n := w.openPRs(); n != 6 {
		t.Fatalf("%d open PRs, want 6", n)
	}
	d := w.waitDashboard("wave 2 of 2", func(c githubfake.CheckRunState) bool {
		return strings.Contains(c.Summary, "wave 2 of 2") && strings.Contains(c.Summary, "| published | 6 |")
	})
	if d.Status != "in_progress" {
		t.Fatalf("a run with open PRs is still in progress: %+v", d)
	}
}

func TestFailureRatePausesThenRetryAndResumeFinish(t *testing.T) {
	var failing sync.Map
	for _, r := range []string{"octo-org/repo-0001", "octo-org/repo-0002", "octo-org/repo-0003"} {
		failing.Store(r, true)
	}
	// Repositories 6-8 are still running when the rate is reached.
	gate := make(chan struct{})
	exec := &executor{noChange: true, hold: map[string]chan struct{}{}, fail: func(req runner.Request) error {
		if _, ok := failing.Load(req.Repository); ok {
			return &runner.StepError{Step: "touch", ExitCode: 1, LogTail: "no such file"}
		}
		return nil
	}}
	for i := 6; i <= 8; i++ {
		exec.hold[fmt.Sprintf("octo-org/repo-%04d", i)] = gate
	}
	w := newWorld(t, 8, baseSpec+"rollout:\n  pauseOnFailureRate: 0.3\n", exec)
	w.WaitFor("the run to pause", func() bool { return w.runState() == store.RunPaused })
	d := w.waitDashboard("paused automatically", func(c githubfake.CheckRunState) bool {
		return strings.Contains(c.Summary, "paused automatically")
	})
	if !slices.ContainsFunc(d.Actions, func(a githubfake.CheckAction) bool { return a.Identifier == "resume" }) {
		t.Fatalf("a paused dashboard offers Resume: %+v", d.Actions)
	}
	// The cause is fixed: retry the failed ones (they wait while paused), then resume.
	failing.Clear()
	n, err := w.control.Retry(w.ctx, w.run.ID, "alice", "")
	if err != nil || n == 0 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	if ok, err := w.control.Resume(w.ctx, w.run.ID, "alice"); err != nil || !ok {
		t.Fatalf("resume: %v %v", ok, err)
	}
	close(gate)
	w.WaitFor("the run to complete", func() bool { return w.runState() == store.RunCompleted })
	if st := w.states(); st[store.TaskNoChanges] != 8 {
		t.Fatalf("states %v", st)
	}
	w.waitDashboard("success", func(c githubfake.CheckRunState) bool { return c.Conclusion == "success" })
}

func TestPauseHoldsWorkAndResumeContinues(t *testing.T) {
	gate := make(chan struct{})
	exec := &executor{hold: map[string]chan struct{}{}}
	for i := 2; i <= 5; i++ {
		exec.hold[fmt.Sprintf("octo-org/repo-%04d", i)] = gate
	}
	w := newWorld(t, 5, baseSpec, exec)
	w.WaitFor("the first PR", func() bool { return w.states()[store.TaskPublished] == 1 })
	if ok, err := w.control.Pause(w.ctx, w.run.ID, "alice", "reviewing the first PR"); err != nil || !ok {
		t.Fatalf("pause: %v %v", ok, err)
	}
	close(gate) // executions in flight finish; their changes are not published while paused
	w.WaitFor("the held executions to finish", func() bool { return w.states()[store.TaskPatchReady] == 4 })
	time.Sleep(time.Second)
	if n := w.openPRs(); n != 1 {
		t.Fatalf("%d PRs open while paused, want 1", n)
	}
	w.waitDashboard("paused by @alice", func(c githubfake.CheckRunState) bool {
		return strings.Contains(c.Summary, "paused by @alice: reviewing the first PR")
	})
	if ok, err := w.control.Pause(w.ctx, w.run.ID, "alice", ""); err != nil || ok {
		t.Fatalf("pausing a paused run changes nothing: %v %v", ok, err)
	}
	if ok, err := w.control.Resume(w.ctx, w.run.ID, "bob"); err != nil || !ok {
		t.Fatalf("resume: %v %v", ok, err)
	}
	w.WaitFor("every PR", func() bool { return w.states()[store.TaskPublished] == 5 })
	if n := w.openPRs(); n != 5 {
		t.Fatalf("%d PRs, want 5", n)
	}
}

// TestResumeReleasesAWaveDueWhilePaused: the first wave ends while the
// run is paused, so no wave is released then (waves advance only in a
// running run) and no task outcome is left to release it later: resuming
// must, or the next wave waits in pending for good.
func TestResumeReleasesAWaveDueWhilePaused(t *testing.T) {
	gate := make(chan struct{})
	exec := &executor{noChange: true, hold: map[string]chan struct{}{}}
	for i := 1; i <= 2; i++ {
		exec.hold[fmt.Sprintf("octo-org/repo-%04d", i)] = gate
	}
	w := newWorld(t, 4, baseSpec+"rollout:\n  waves: [2]\n", exec)
	w.WaitFor("the first wave executing", func() bool { return len(w.exec.started()) == 2 })
	if ok, err := w.control.Pause(w.ctx, w.run.ID, "alice", ""); err != nil || !ok {
		t.Fatalf("pause: %v %v", ok, err)
	}
	close(gate)
	w.WaitFor("the first wave to end while paused", func() bool { return w.states()[store.TaskNoChanges] == 2 })
	time.Sleep(500 * time.Millisecond)
	if st := w.states(); st[store.TaskPending] != 2 || w.runState() != store.RunPaused {
		t.Fatalf("while paused: %s %v, want the second wave pending", w.runState(), st)
	}
	if ok, err := w.control.Resume(w.ctx, w.run.ID, "bob"); err != nil || !ok {
		t.Fatalf("resume: %v %v", ok, err)
	}
	w.WaitFor("the second wave to run and the run to complete", func() bool { return w.runState() == store.RunCompleted })
	if st := w.states(); st[store.TaskNoChanges] != 4 {
		t.Fatalf("states %v", st)
	}
}

// A retry runs on the base branch's current head: the cause of a failure
// fixed in the repository is picked up.
func TestRetryRunsOnTheCurrentBase(t *testing.T) {
	var broken sync.Map // repository -> the base commit it fails on
	exec := &executor{fail: func(req runner.Request) error {
		if sha, ok := broken.Load(req.Repository); ok && sha == req.BaseSHA {
			return &runner.StepError{Step: "touch", ExitCode: 1, LogTail: "HELLO: read-only file system"}
		}
		return nil
	}}
	gate := make(chan struct{})
	exec.hold = map[string]chan struct{}{"octo-org/repo-0002": gate}
	w := newWorld(t, 2, baseSpec, exec)
	old, err := w.Fake.BranchSHA(w.ctx, "octo-org", "repo-0002", "main")
	if err != nil {
		t.Fatal(err)
	}
	broken.Store("octo-org/repo-0002", old)
	close(gate)
	w.WaitFor("repo-0002 to fail", func() bool { return w.states()[store.TaskFailed] == 1 })
	// The repository's owners fix the cause on main.
	fixed, err := w.Fake.PushCommit(w.ctx, "octo-org", "repo-0002", "main", "owner", "fix permissions", map[string]string{"FIX": "1\n"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.control.Retry(w.ctx, w.run.ID, "alice", "octo-org/repo-0002"); err != nil || n != 1 {
		t.Fatalf("retry: %d %v", n, err)
	}
	w.WaitFor("both PRs", func() bool { return w.states()[store.TaskPublished] == 2 })
	for _, tk := range w.tasks() {
		if tk.Repository == "octo-org/repo-0002" && tk.BaseSHA != fixed {
			t.Fatalf("the retry ran on %s, main is %s", tk.BaseSHA, fixed)
		}
	}
}

func TestKillSwitchStopsPublishingMidRun(t *testing.T) {
	gate := make(chan struct{})
	exec := &executor{hold: map[string]chan struct{}{}}
	for i := 3; i <= 6; i++ {
		exec.hold[fmt.Sprintf("octo-org/repo-%04d", i)] = gate
	}
	w := newWorld(t, 6, baseSpec, exec)
	w.WaitFor("two PRs", func() bool { return w.states()[store.TaskPublished] == 2 })
	if err := w.control.Freeze(w.ctx, "root", "incident 42"); err != nil {
		t.Fatal(err)
	}
	if frozen, why := w.control.Frozen(w.ctx); !frozen || !strings.Contains(why, "incident 42") {
		t.Fatalf("frozen = %v %q", frozen, why)
	}
	// Every worker sees the flag within FrozenTTL (its cached read expires).
	time.Sleep(orchestrator.FrozenTTL + 100*time.Millisecond)
	close(gate)
	w.WaitFor("the rest executed", func() bool { return w.states()[store.TaskPatchReady] == 4 })
	time.Sleep(2 * time.Second)
	if n := w.openPRs(); n != 2 {
		t.Fatalf("%d PRs while frozen, want 2", n)
	}
	// A second worker process sees the database flag too (not only this Control).
	other := orchestrator.NewControl(orchestrator.ControlConfig{Store: w.Store})
	if frozen, _ := other.Frozen(w.ctx); !frozen {
		t.Fatal("the kill switch is a database flag every worker sees")
	}
	if err := w.control.Unfreeze(w.ctx, "root"); err != nil {
		t.Fatal(err)
	}
	w.WaitFor("publishing resumed", func() bool { return w.states()[store.TaskPublished] == 6 })
	if n := w.openPRs(); n != 6 {
		t.Fatalf("%d PRs, want 6", n)
	}
}

func TestCancelClosesOpenPullRequests(t *testing.T) {
	gate := make(chan struct{})
	exec := &executor{hold: map[string]chan struct{}{"octo-org/repo-0004": gate}}
	w := newWorld(t, 4, baseSpec, exec)
	defer close(gate)
	w.WaitFor("three PRs", func() bool { return w.states()[store.TaskPublished] == 3 })
	res, err := w.control.Cancel(w.ctx, w.run.ID, "alice", "wrong change")
	if err != nil || !res.Cancelled || res.Closing != 3 {
		t.Fatalf("cancel = %+v, %v", res, err)
	}
	w.WaitFor("the PRs closed", func() bool { return w.states()[store.TaskClosed] == 3 })
	if n := w.openPRs(); n != 0 {
		t.Fatalf("%d PRs still open", n)
	}
	pr, err := w.Fake.PullRequest("octo-org", "repo-0001", w.Fake.PullRequests("octo-org", "repo-0001")[0])
	if err != nil || pr.State != "closed" || len(pr.Comments) == 0 || !strings.Contains(pr.Comments[len(pr.Comments)-1], "cancelled by @alice: wrong change") {
		t.Fatalf("closed PR = %+v, %v", pr, err)
	}
	if st := w.states(); st[store.TaskCancelled] != 1 {
		t.Fatalf("the unfinished task is cancelled: %v", st)
	}
	if w.runState() != store.RunCancelled {
		t.Fatalf("run is %s", w.runState())
	}
	if again, err := w.control.Cancel(w.ctx, w.run.ID, "alice", ""); err != nil || again.Cancelled {
		t.Fatalf("a second cancel changes nothing: %+v %v", again, err)
	}
	w.waitDashboard("neutral", func(c githubfake.CheckRunState) bool { return c.Conclusion == "neutral" })
}

func TestSkipSnoozeRebase(t *testing.T) {
	w := newWorld(t, 3, baseSpec, &executor{})
	w.WaitFor("three PRs", func() bool { return w.states()[store.TaskPublished] == 3 })
	byRepo := map[string]store.RepoTask{}
	for _, tk := range w.tasks() {
		byRepo[tk.Repository] = tk
	}

	// Skip: the PR closes with a comment, the task is skipped, the repo excluded.
	skipped := byRepo["octo-org/repo-0001"]
	if err := w.control.Skip(w.ctx, skipped.ID, "maintainer", "we are migrating away"); err != nil {
		t.Fatal(err)
	}
	w.WaitFor("the skipped PR closed", func() bool {
		tk, _ := w.Store.GetRepoTask(w.ctx, skipped.ID)
		return tk.State == store.TaskSkipped
	})
	if pr, _ := w.Fake.PullRequest("octo-org", "repo-0001", skipped.PRNumber); pr.State != "closed" {
		t.Fatalf("skipped PR is %s", pr.State)
	}
	ex, err := w.Store.Exclusions(w.ctx, w.run.CampaignID)
	if err != nil || !ex["octo-org/repo-0001"] {
		t.Fatalf("exclusions = %v, %v", ex, err)
	}

	// Rebase: the base moved; the change is made again on the new head and pushed to the same PR.
	target := byRepo["octo-org/repo-0002"]
	newBase, err := w.Fake.PushCommit(w.ctx, "octo-org", "repo-0002", "main", "someone", "unrelated", map[string]string{"OTHER": "x\n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.control.Rebase(w.ctx, target.ID, "maintainer"); err != nil {
		t.Fatal(err)
	}
	w.WaitFor("the rebased change published", func() bool {
		tk, _ := w.Store.GetRepoTask(w.ctx, target.ID)
		return tk.State == store.TaskPublished && tk.BaseSHA == newBase && tk.HeadSHA != target.HeadSHA
	})
	if prs := w.Fake.PullRequests("octo-org", "repo-0002"); len(prs) != 1 {
		t.Fatalf("rebase opened another PR: %v", prs)
	}

	// Snooze: a later update waits until the snooze ends.
	snoozed := byRepo["octo-org/repo-0003"]
	if err := w.control.Snooze(w.ctx, snoozed.ID, "maintainer", time.Now().Add(7*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	tk, _ := w.Store.GetRepoTask(w.ctx, snoozed.ID)
	if tk.SnoozedUntil == nil || time.Until(*tk.SnoozedUntil) < 6*24*time.Hour {
		t.Fatalf("snoozed until %v", tk.SnoozedUntil)
	}
	if err := w.control.Snooze(w.ctx, byRepo["octo-org/repo-0001"].ID, "x", time.Now()); err != nil {
		t.Fatalf("snoozing a skipped task that had a PR: %v", err)
	}
	if _, err := w.Store.SetTaskState(w.ctx, snoozed.ID, []string{store.TaskPublished}, store.TaskPatchReady, ""); err != nil {
		t.Fatal(err)
	}
	pub := orchestrator.NewPublishing(w.Store, nil, nil, nil, nil, time.Minute)
	var th *orchestrator.ThrottledError
	if err := pub.Publish(w.ctx, snoozed.ID); !errors.As(err, &th) || !strings.Contains(th.Reason, "snoozed") {
		t.Fatalf("publishing a snoozed PR = %v, want a wait until the snooze ends", err)
	}
}

func TestRunWithoutChangesCompletes(t *testing.T) {
	w := newWorld(t, 4, baseSpec, &executor{noChange: true})
	w.WaitFor("completion", func() bool { return w.runState() == store.RunCompleted })
	d := w.waitDashboard("success", func(c githubfake.CheckRunState) bool { return c.Conclusion == "success" })
	if !strings.Contains(d.Summary, "| no_changes | 4 |") || !strings.Contains(d.Title, "4/4 repositories done") {
		t.Fatalf("final dashboard = %q / %q", d.Title, d.Summary)
	}
}

func TestStartAwaitingNeedsApprovals(t *testing.T) {
	w := newWorld(t, 2, baseSpec, &executor{noChange: true})
	// A run that waits: its content was not approved when it merged.
	v2 := strings.Replace(baseSpec, "add HELLO", "add HELLO v2", 1)
	res, err := w.Store.ApplySpecSync(w.ctx, store.SpecSync{ControlRepo: "octo-org/platform", CommitSHA: strings.Repeat("b", 40),
		Valid: []store.SyncedSpec{{Name: "touch", Path: "campaigns/touch.yaml", YAML: v2, ContentHash: "y"}}})
	if err != nil || len(res.NewVersions) != 1 {
		t.Fatalf("sync v2: %+v %v", res, err)
	}
	ver := res.NewVersions[0]
	awaiting, _, _, err := w.Store.CreateRun(w.ctx, store.Run{CampaignID: ver.CampaignID, SpecVersionID: ver.ID, State: store.RunAwaitingApproval,
		InstallationID: w.run.InstallationID, ControlSHA: strings.Repeat("b", 40)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.control.StartAwaiting(w.ctx, awaiting.ID, "alice"); !errors.Is(err, orchestrator.ErrNotApproved) {
		t.Fatalf("start without approval = %v", err)
	}
	if _, err := w.Store.AddApproval(w.ctx, store.Approval{ControlRepo: "octo-org/platform", CampaignName: "touch", ContentHash: "y", Approver: "wanda"}); err != nil {
		t.Fatal(err)
	}
	run, err := w.control.StartAwaiting(w.ctx, awaiting.ID, "wanda")
	if err != nil || run.State != store.RunRunning {
		t.Fatalf("start approved = %+v, %v", run, err)
	}
	w.WaitFor("the approved run completes", func() bool {
		r, _ := w.Store.GetRun(w.ctx, awaiting.ID)
		return r.State == store.RunCompleted
	})
	if _, err := w.control.StartAwaiting(w.ctx, awaiting.ID, "wanda"); !errors.Is(err, orchestrator.ErrWrongState) {
		t.Fatalf("starting twice = %v", err)
	}
}
