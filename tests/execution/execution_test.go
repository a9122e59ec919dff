// Package execution_test runs campaign runs through the real worker,
// queue and database: fan-out, exactly-once execution across worker kills
// and a flushed Redis, retries and the dead-letter queue.
package execution_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

const specYAML = `version: 1
name: touch
targets:
  query: "org:octo-org"
steps:
  - name: touch
    run: echo hi > HELLO
pullRequest:
  title: add HELLO
`

// recordingExecutor stands in for a real executor: it records every
// execution that completes and can hold or fail them.
type recordingExecutor struct {
	running   atomic.Int64
	peak      atomic.Int64
	delay     time.Duration
	mu        sync.Mutex
	completed map[string]int
	started   map[string]int
	hold      chan struct{} // while non-nil and open, executions block
	fail      func(repo string, attempt int) error
}

func newRecorder() *recordingExecutor {
	return &recordingExecutor{completed: map[string]int{}, started: map[string]int{}}
}

func (r *recordingExecutor) Execute(ctx context.Context, req runner.Request) (*runner.Result, error) {
	n := r.running.Add(1)
	defer r.running.Add(-1)
	for p := r.peak.Load(); n > p && !r.peak.CompareAndSwap(p, n); p = r.peak.Load() {
	}
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	r.started[req.Repository]++
	attempt := r.started[req.Repository]
	hold, fail := r.hold, r.fail
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(req.Repository, attempt); err != nil {
			return nil, err
		}
	}
	if req.BaseSHA == "" || req.CloneURL == "" || len(req.Steps) != 1 {
		return nil, fmt.Errorf("bad request: %+v", req)
	}
	r.mu.Lock()
	r.completed[req.Repository]++
	r.mu.Unlock()
	return &runner.Result{Changed: []runner.FileChange{{Path: "HELLO", Mode: runner.ModeFile, Content: []byte("hi\n")}},
		PatchHash: "h-" + req.Repository, BaseSHA: req.BaseSHA}, nil
}

func (r *recordingExecutor) counts() (started, completed map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, c := map[string]int{}, map[string]int{}
	for k, v := range r.started {
		s[k] = v
	}
	for k, v := range r.completed {
		c[k] = v
	}
	return s, c
}

type memResults struct {
	mu sync.Mutex
	m  map[uuid.UUID]*runner.Result
}

func (m *memResults) ReadResult(_ context.Context, id uuid.UUID) (*runner.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[id]
	if !ok {
		return nil, fmt.Errorf("no result for %s", id)
	}
	return r, nil
}

func (m *memResults) SaveResult(_ context.Context, id uuid.UUID, r *runner.Result) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[id] = r
	return "mem/" + id.String(), nil
}

type staticTargets []orchestrator.Target

func (s staticTargets) Resolve(context.Context, int64, spec.Targets) ([]orchestrator.Target, error) {
	return s, nil
}

type world struct {
	*stack.Stack
	ctx        context.Context
	exec       *recordingExecutor
	results    *memResults
	rdb        *redis.Client
	run        store.Run
	controlSHA string
}

// dashboard returns the run's dashboard check run on the control commit.
func (w *world) dashboard() (githubfake.CheckRunState, bool) {
	for _, c := range w.Fake.CheckRuns("octo-org", "platform") {
		if c.Name == "campaign: touch" && c.HeadSHA == w.controlSHA {
			return c, true
		}
	}
	return githubfake.CheckRunState{}, false
}

func newWorld(t *testing.T, repos int, mutate ...func(*config.Config)) *world {
	s := stack.New(t, append([]func(*config.Config){func(c *config.Config) {
		c.Runner.Lease = 10 * time.Second
		c.Worker.SweepAge = time.Millisecond
		c.Worker.SweepInterval = time.Hour // tests sweep by hand
	}}, mutate...)...)
	s.StopWorker()
	w := &world{Stack: s, ctx: context.Background(), exec: newRecorder(), results: &memResults{m: map[uuid.UUID]*runner.Result{}}}
	opt, _ := redis.ParseURL(s.Config.RedisURL)
	w.rdb = redis.NewClient(opt)
	t.Cleanup(func() { w.rdb.Close() })

	org, err := s.Fake.CreateOrg(w.ctx, githubfake.OrgSpec{Name: "octo-org", Repos: repos})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fake.CreateRepo(w.ctx, "octo-org", githubfake.RepoSpec{Name: "platform"}); err != nil {
		t.Fatal(err)
	}
	controlSHA, err := s.Fake.BranchSHA(w.ctx, "octo-org", "platform", "main")
	if err != nil {
		t.Fatal(err)
	}
	w.controlSHA = controlSHA
	res, err := s.Store.ApplySpecSync(w.ctx, store.SpecSync{ControlRepo: "octo-org/platform", CommitSHA: controlSHA,
		Valid: []store.SyncedSpec{{Name: "touch", Path: "campaigns/touch.yaml", YAML: specYAML, ContentHash: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, diags := spec.Parse("touch.yaml", []byte(specYAML))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var targets staticTargets
	for i := range repos {
		targets = append(targets, orchestrator.Target{FullName: fmt.Sprintf("octo-org/repo-%04d", i+1), ID: int64(i + 1), DefaultBranch: "main", HeadSHA: fmt.Sprintf("%040d", i)})
	}
	q := s.Queue(w.rdb)
	dashboards := s.Dashboards(s.ClientCreator(), q)
	starter := orchestrator.NewStarter(s.Store, targets, q, dashboards)
	v := res.NewVersions[0]
	in := orchestrator.StartInput{CampaignID: v.CampaignID, Version: v, Spec: parsed, InstallationID: org.InstallationID, ControlSHA: controlSHA}
	run, created, err := starter.Start(w.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != repos {
		t.Fatalf("%d tasks for %d targets", len(created), repos)
	}
	// Starting again adds nothing.
	run2, tasks2, err := starter.Start(w.ctx, in)
	if err != nil || run2.ID != run.ID || len(tasks2) != repos {
		t.Fatalf("second start: run %d vs %d, %d tasks, %v", run2.ID, run.ID, len(tasks2), err)
	}
	w.run = run
	return w
}

func (w *world) startWorker() {
	w.StartWorker(app.WithExecutor(w.exec), app.WithResultStore(w.results), app.WithoutPublishing())
}

func (w *world) states() map[string]int { return w.TaskStates(w.run.ID) }

func (w *world) queued() int {
	info, err := asynq.NewInspectorFromRedisClient(w.rdb).GetQueueInfo(queue.Tasks)
	if err != nil {
		return 0
	}
	return info.Pending + info.Active + info.Scheduled + info.Retry
}

// queuedByType counts the queue's waiting tasks by type.
func (w *world) queuedByType() map[string]int {
	w.T.Helper()
	insp := asynq.NewInspectorFromRedisClient(w.rdb)
	out := map[string]int{}
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){insp.ListPendingTasks, insp.ListScheduledTasks, insp.ListActiveTasks, insp.ListRetryTasks} {
		tasks, err := list(queue.Tasks, asynq.PageSize(1000))
		if err != nil {
			w.T.Fatal(err)
		}
		for _, t := range tasks {
			out[t.Type]++
		}
	}
	return out
}

func (w *world) assertExactlyOnce(repos int) {
	w.T.Helper()
	_, completed := w.exec.counts()
	if len(completed) != repos {
		w.T.Fatalf("%d repositories executed, want %d", len(completed), repos)
	}
	for repo, n := range completed {
		if n != 1 {
			w.T.Errorf("%s executed to the end %d times", repo, n)
		}
	}
	if st := w.states(); st[store.TaskPatchReady] != repos {
		w.T.Fatalf("states = %v", st)
	}
	if len(w.results.m) != repos {
		w.T.Fatalf("%d results saved", len(w.results.m))
	}
}

func TestRunExecutesEveryRepoOnce(t *testing.T) {
	w := newWorld(t, 50, func(c *config.Config) { c.Campaign.DashboardEvery = time.Second })
	// A repeated start adds no execution; the dashboard update it asks for
	// joins the first one's, unless the two fell on both sides of an
	// interval boundary.
	if by := w.queuedByType(); by[queue.TypeExecute] != 50 || by[queue.TypeDashboard] < 1 || by[queue.TypeDashboard] > 2 || len(by) != 2 {
		t.Fatalf("queued %v, want 50 executions and one dashboard update (two across an interval boundary)", by)
	}
	w.startWorker()
	w.WaitFor("all tasks", func() bool { return w.states()[store.TaskPatchReady] == 50 })
	w.assertExactlyOnce(50)

	// The dashboard ends with the right counts, updated in coalesced steps.
	// Without publishing every change waits in patch_ready: executed, not done.
	w.WaitFor("the final dashboard", func() bool {
		c, ok := w.dashboard()
		return ok && strings.Contains(c.Summary, "| patch_ready | 50 |")
	})
	c, _ := w.dashboard()
	if c.Status != "in_progress" || !strings.Contains(c.Summary, "| patch_ready | 50 |") || len(c.Actions) == 0 || c.Actions[0].Identifier != "pause" {
		t.Fatalf("dashboard = %+v", c)
	}
	if n := len(w.Fake.CheckRuns("octo-org", "platform")); n != 1 {
		t.Fatalf("%d check runs on the control repository, want the one dashboard", n)
	}
	updates := w.Fake.Stats().Routes["PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"]
	if updates > 20 {
		t.Fatalf("%d dashboard updates for 50 tasks: not coalesced", updates)
	}
}

func TestWorkerKilledMidRunLosesNothing(t *testing.T) {
	w := newWorld(t, 50)
	w.exec.hold = make(chan struct{})
	w.startWorker()
	w.WaitFor("executions to start", func() bool { s, _ := w.exec.counts(); return len(s) >= 5 })
	w.StopWorker() // killed mid-task: in-flight executions are interrupted and handed back
	close(w.exec.hold)
	w.startWorker()
	w.WaitFor("all tasks after the restart", func() bool { return w.states()[store.TaskPatchReady] == 50 })
	w.assertExactlyOnce(50)
	started, _ := w.exec.counts()
	again := 0
	for _, n := range started {
		if n > 1 {
			again++
		}
	}
	if again == 0 {
		t.Fatal("no execution was interrupted: the test did not kill the worker mid-task")
	}
}

func TestRedisFlushedMidRunLosesNothing(t *testing.T) {
	w := newWorld(t, 50)
	w.exec.hold = make(chan struct{})
	w.startWorker()
	w.WaitFor("executions to start", func() bool { s, _ := w.exec.counts(); return len(s) >= 5 })
	if err := w.rdb.FlushDB(w.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	close(w.exec.hold)
	// The sweeper finds the queued tasks Redis forgot (running ones hold live leases and finish).
	time.Sleep(50 * time.Millisecond)
	w.WaitFor("the sweeper to requeue the lost tasks", func() bool {
		if _, err := w.sweep(); err != nil {
			t.Fatal(err)
		}
		return w.states()[store.TaskQueued] == 0 || w.queued() > 0
	})
	w.WaitFor("all tasks after the flush", func() bool {
		_, _ = w.sweep()
		return w.states()[store.TaskPatchReady] == 50
	})
	w.assertExactlyOnce(50)
}

func (w *world) sweep() (int, error) {
	q := queue.NewClient(w.rdb, w.Config.Worker.MaxRetry)
	defer q.Close()
	return orchestrator.NewTaskSweeper(w.Store, q, time.Millisecond).Sweep(w.ctx)
}

func TestFailuresRetryThenDeadLetter(t *testing.T) {
	w := newWorld(t, 3, func(c *config.Config) { c.Runner.MaxAttempts = 2 })
	w.exec.fail = func(repo string, attempt int) error {
		switch repo {
		case "octo-org/repo-0001": // flaky: fails once, then works
			if attempt == 1 {
				return errors.New("network blip")
			}
		case "octo-org/repo-0002": // a step fails: no retry helps
			return &runner.StepError{Step: "touch", ExitCode: 2, LogTail: "boom"}
		case "octo-org/repo-0003": // always an infrastructure error: gives up after MaxAttempts
			return errors.New("clone timed out")
		}
		return nil
	}
	w.startWorker()
	w.T.Cleanup(func() {
		if t.Failed() {
			w.dumpTasks()
		}
	})
	w.WaitFor("tasks to settle", func() bool { st := w.states(); return st[store.TaskPatchReady] == 1 && st[store.TaskFailed] == 2 })
	tasks, _ := w.Store.RunTasks(w.ctx, w.run.ID)
	byRepo := map[string]store.RepoTask{}
	for _, tk := range tasks {
		byRepo[tk.Repository] = tk
	}
	if tk := byRepo["octo-org/repo-0002"]; tk.Attempts != 1 || tk.LogTail != "boom" {
		t.Errorf("step failure: %+v (want 1 attempt and the log tail)", tk)
	}
	if tk := byRepo["octo-org/repo-0003"]; tk.Attempts != 2 {
		t.Errorf("retryable failure: %d attempts, want 2", tk.Attempts)
	}
	// The task handler archives a task after it recorded the failure: wait for both.
	var dead []queue.DeadTask
	w.WaitFor("two dead tasks", func() bool {
		var err error
		if dead, err = queue.NewDeadLetters(w.rdb).List(10); err != nil {
			t.Fatal(err)
		}
		return len(dead) == 2
	})
	// Replay: requeue in the database, then run the dead tasks again; now they succeed.
	w.exec.mu.Lock()
	w.exec.fail = nil
	w.exec.mu.Unlock()
	if _, err := w.Store.RequeueFailedTasks(w.ctx, w.run.ID, ""); err != nil {
		t.Fatal(err)
	}
	if n, err := queue.NewDeadLetters(w.rdb).ReplayAll(); err != nil || n != 2 {
		t.Fatalf("replayed %d, %v", n, err)
	}
	w.WaitFor("replayed tasks", func() bool { return w.states()[store.TaskPatchReady] == 3 })
}

func (w *world) dumpTasks() {
	tasks, _ := w.Store.RunTasks(w.ctx, w.run.ID)
	for _, tk := range tasks {
		w.T.Logf("%s %s attempts=%d err=%q", tk.Repository, tk.State, tk.Attempts, tk.Error)
	}
}

func TestConcurrencyCapsHoldAcrossWorkers(t *testing.T) {
	w := newWorld(t, 24, func(c *config.Config) {
		c.Worker.Concurrency = 10
		c.Runner.MaxTasksPerCampaign = 3
	})
	w.exec.delay = 100 * time.Millisecond
	w.startWorker()
	w.startWorker() // two workers, 20 task slots between them, one campaign cap of 3
	w.T.Cleanup(func() {
		if t.Failed() {
			t.Logf("states %v peak %d", w.states(), w.exec.peak.Load())
			w.dumpTasks()
		}
	})
	w.WaitFor("all tasks", func() bool { return w.states()[store.TaskPatchReady] == 24 })
	if p := w.exec.peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak concurrent executions = %d, want at most the campaign cap of 3 (and some parallelism)", p)
	}
	w.assertExactlyOnce(24)
}
