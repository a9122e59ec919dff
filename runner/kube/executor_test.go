package kube

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

const testNS = "cb-jobs"

// testConfig re-reads Jobs every 50ms: the fake clientset's watch drops
// events that happen between an informer's list and its watch (a real
// API server replays them), so tests need the safety net to be quick.
// TestInformerAloneCompletesTasks proves the informer path on its own.
func testConfig() Config {
	return Config{Namespace: testNS, Resync: 50 * time.Millisecond}
}

func testRequest(taskID string, steps ...runner.Step) runner.Request {
	return runner.Request{
		TaskID: taskID, InstallationID: 42, Repository: "acme/widgets",
		CloneURL: "https://github.com/acme/widgets.git", BaseBranch: "main",
		BaseSHA: "0123456789abcdef0123456789abcdef01234567", Steps: steps,
		Allow: []string{"*.md", "go.mod"},
	}
}

func newExecutor(t *testing.T, fk *fakeKube) *Executor {
	t.Helper()
	e := New(fk.client, testConfig(), fakeTokens{}, fakeArtifacts{}, fk)
	t.Cleanup(e.Close)
	return e
}

func execCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func assertGone(t *testing.T, fk *fakeKube, name string) {
	t.Helper()
	if _, err := fk.client.BatchV1().Jobs(testNS).Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("job %s still exists (err %v)", name, err)
	}
	if _, err := fk.client.CoreV1().Secrets(testNS).Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("secret %s still exists (err %v)", name, err)
	}
}

func TestExecuteSuccessRunsStepsAndCleansUp(t *testing.T) {
	fk := newFakeKube(t, testNS)
	e := newExecutor(t, fk)
	task := "3f1c9a52-7d4e-4b8a-9c21-6e0f5a7b8c90"
	req := testRequest(task,
		// $$ and $(...) must reach the shell untouched: Kubernetes would
		// otherwise expand them in the env value.
		runner.Step{Name: "Write file", Image: "alpine:3", Run: `echo "pid-safe $(echo ok) $$X" > out.txt; echo wrote`, Env: map[string]string{"X": "1"}},
		runner.Step{Name: "Greet", Image: "alpine:3", Run: `printf '%s\n' "$GREETING" > hello.txt`, Env: map[string]string{"GREETING": "hi $(USER) $$"}},
	)
	res, err := e.Execute(WithTaskMeta(execCtx(t), TaskMeta{CampaignID: "17", RunID: "5"}), req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if len(res.Changed) != 2 || res.Changed[0].Path != "hello.txt" || res.Changed[1].Path != "out.txt" {
		t.Fatalf("changed = %+v", res.Changed)
	}
	if got := string(res.Changed[0].Content); got != "hi $(USER) $$\n" {
		t.Errorf("step env reached the shell as %q", got)
	}
	if got := string(res.Changed[1].Content); !strings.HasPrefix(got, "pid-safe ok ") || strings.Contains(got, "$") {
		t.Errorf("script ran as %q; want the shell to expand $(...) and $$", got)
	}
	if len(res.Logs) != 2 || res.Logs[0].Name != "Write file" || res.Logs[0].Output != "wrote\n" || res.Logs[1].Name != "Greet" {
		t.Errorf("logs = %+v", res.Logs)
	}
	name := jobName(task)
	if n := fk.startedCount(name); n != 1 {
		t.Errorf("pod started %d times", n)
	}
	sec := fk.secret(name)
	if sec == nil {
		t.Fatal("no secret seen while the job ran")
	}
	if got := string(sec.Data[secretKeyClone]); got != "ghs_read_42_acme_widgets" {
		t.Errorf("clone token = %q", got)
	}
	if got := string(sec.Data[secretKeyUpload]); got != "upl_"+task {
		t.Errorf("upload token = %q", got)
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].Kind != "Job" || sec.OwnerReferences[0].Name != name || sec.OwnerReferences[0].UID == "" {
		t.Errorf("secret owner = %+v", sec.OwnerReferences)
	}
	assertGone(t, fk, name)
	// Background propagation, so the pod goes with the Job.
	for _, a := range fk.client.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && a.GetResource().Resource == "jobs" {
			if p := d.GetDeleteOptions().PropagationPolicy; p == nil || *p != metav1.DeletePropagationBackground {
				t.Errorf("job deleted with propagation %v", p)
			}
		}
	}
}

func TestExecuteFailures(t *testing.T) {
	steps := []runner.Step{
		{Name: "setup", Image: "alpine:3", Run: "true"},
		{Name: "Bump deps!", Image: "golang:1", Run: "go get -u ./..."},
	}
	tests := []struct {
		name    string
		outcome outcome
		check   func(t *testing.T, err error)
	}{
		{"step exits non-zero", outcome{failContainer: "bump-deps", exitCode: 3}, func(t *testing.T, err error) {
			var se *runner.StepError
			if !errors.As(err, &se) || se.Step != "Bump deps!" || se.ExitCode != 3 || se.TimedOut {
				t.Fatalf("err = %#v", err)
			}
			if se.LogTail != "boom: module not found\n" {
				t.Errorf("log tail = %q", se.LogTail)
			}
			if !runner.Permanent(err) {
				t.Error("a step failure must be permanent")
			}
		}},
		{"deadline while a step runs", outcome{failContainer: "bump-deps", deadline: true}, func(t *testing.T, err error) {
			var se *runner.StepError
			if !errors.As(err, &se) || se.Step != "Bump deps!" || !se.TimedOut {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"clone fails", outcome{failContainer: cloneContainer, exitCode: 128}, func(t *testing.T, err error) {
			var ce *runner.CloneError
			if !errors.As(err, &ce) || ce.Repository != "acme/widgets" || !strings.Contains(ce.Error(), "128") {
				t.Fatalf("err = %#v", err)
			}
			if runner.Permanent(err) {
				t.Error("a clone failure is worth a retry")
			}
		}},
		{"upload refuses a path", outcome{failContainer: uploadContainer, exitCode: 2,
			termMessage: TerminationMessage(&runner.PolicyError{Paths: []string{".github/workflows/ci.yml"}, Reason: "outside changes.allow"})},
			func(t *testing.T, err error) {
				var pe *runner.PolicyError
				if !errors.As(err, &pe) || len(pe.Paths) != 1 || pe.Paths[0] != ".github/workflows/ci.yml" {
					t.Fatalf("err = %#v", err)
				}
			}},
		{"upload over the limit", outcome{failContainer: uploadContainer, exitCode: 2,
			termMessage: TerminationMessage(&runner.LimitError{What: "file count", Limit: 10, Got: 11})},
			func(t *testing.T, err error) {
				var le *runner.LimitError
				if !errors.As(err, &le) || le.Got != 11 {
					t.Fatalf("err = %#v", err)
				}
			}},
		{"upload crashes", outcome{failContainer: uploadContainer, exitCode: 1}, func(t *testing.T, err error) {
			if runner.Permanent(err) || !strings.Contains(err.Error(), "upload exited with code 1") {
				t.Fatalf("err = %v", err)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fk := newFakeKube(t, testNS)
			task := "0000000" + string(rune('a'+i)) + "-0000-4000-8000-000000000000"
			fk.outcome[task] = tt.outcome
			fk.logs["bump-deps"] = "boom: module not found\n"
			e := newExecutor(t, fk)
			_, err := e.Execute(execCtx(t), testRequest(task, steps...))
			if err == nil {
				t.Fatal("Execute succeeded")
			}
			tt.check(t, err)
			assertGone(t, fk, jobName(task))
		})
	}
}

// A worker restart: the first Executor's ctx ends (shutdown) while the
// pod runs; the Job stays, and a new Executor adopts it by label and
// returns its result without creating or starting anything again.
func TestRestartedExecutorAdoptsRunningJob(t *testing.T) {
	fk := newFakeKube(t, testNS)
	task := "a1b2c3d4-0000-4000-8000-00000000ad0b"
	hold := make(chan struct{})
	fk.hold[task] = hold
	req := testRequest(task, runner.Step{Name: "touch", Image: "alpine:3", Run: "echo x > x.txt"})

	first := New(fk.client, testConfig(), fakeTokens{}, fakeArtifacts{}, fk)
	ctx, shutdown := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := first.Execute(ctx, req); errc <- err }()
	waitFor(t, func() bool { return fk.startedCount(jobName(task)) == 1 })
	shutdown()
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "left for adoption") {
		t.Fatalf("first Execute = %v", err)
	}
	first.Close()
	if _, err := fk.client.BatchV1().Jobs(testNS).Get(context.Background(), jobName(task), metav1.GetOptions{}); err != nil {
		t.Fatalf("shutdown deleted the job: %v", err)
	}

	second := newExecutor(t, fk)
	inflight, err := second.InFlight(context.Background())
	if err != nil || len(inflight) != 1 || inflight[0] != task {
		t.Fatalf("InFlight = %v, %v", inflight, err)
	}
	creates := fk.countActions("create", "jobs")
	go func() { time.Sleep(100 * time.Millisecond); close(hold) }()
	res, err := second.Execute(execCtx(t), req)
	if err != nil {
		t.Fatalf("adopting Execute: %v", err)
	}
	if len(res.Changed) != 1 || res.Changed[0].Path != "x.txt" {
		t.Errorf("result = %+v", res)
	}
	if got := fk.countActions("create", "jobs") - creates; got != 0 {
		t.Errorf("adoption created %d jobs", got)
	}
	if got := fk.startedCount(jobName(task)); got != 1 {
		t.Errorf("pod started %d times", got)
	}
	assertGone(t, fk, jobName(task))
}

// Losing the create race (another worker created the Job between our
// lookup and our create) adopts the rival's Job instead of failing or
// creating a second one.
func TestCreateConflictAdopts(t *testing.T) {
	task := "c0ffee00-0000-4000-8000-000000000001"
	req := testRequest(task, runner.Step{Name: "s", Image: "alpine:3", Run: "echo z > z.txt"})
	rival, err := buildJob(testConfig().withDefaults(), jobSpec{req: req, artifactURL: "https://a/x"})
	if err != nil {
		t.Fatal(err)
	}
	rival.UID = "rival-uid"
	fk := newFakeKube(t, testNS, rival)
	var once sync.Once
	fk.client.PrependReactor("list", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		hide := false
		once.Do(func() { hide = a.(k8stesting.ListAction).GetListRestrictions().Labels.String() == taskSelector(task) })
		if hide {
			return true, &batchv1.JobList{}, nil
		}
		return false, nil, nil
	})
	e := newExecutor(t, fk)
	res, err := e.Execute(execCtx(t), req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if len(res.Changed) != 1 || res.Changed[0].Path != "z.txt" {
		t.Errorf("result = %+v", res)
	}
	if got := fk.countActions("create", "jobs"); got != 1 {
		t.Errorf("%d job creates; want the one that lost the race", got)
	}
	if got := fk.startedCount(rival.Name); got != 1 {
		t.Errorf("pod started %d times", got)
	}
	if sec := fk.secret(rival.Name); sec == nil || sec.OwnerReferences[0].UID != "rival-uid" {
		t.Errorf("secret = %+v", sec)
	}
}

func TestCancelledTaskDeletesJobShutdownKeepsIt(t *testing.T) {
	tests := []struct {
		name     string
		cause    error
		wantKept bool
	}{
		{"task cancelled", ErrTaskCancelled, false},
		{"worker shutting down", errors.New("SIGTERM"), true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fk := newFakeKube(t, testNS)
			task := "cccccccc-0000-4000-8000-00000000000" + string(rune('0'+i))
			fk.hold[task] = make(chan struct{}) // never finishes
			e := newExecutor(t, fk)
			ctx, cancel := context.WithCancelCause(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, err := e.Execute(ctx, testRequest(task, runner.Step{Name: "s", Image: "alpine:3", Run: "true"}))
				errc <- err
			}()
			waitFor(t, func() bool { return fk.startedCount(jobName(task)) == 1 })
			cancel(tt.cause)
			err := <-errc
			if !errors.Is(err, tt.cause) {
				t.Errorf("err = %v; want it to carry the cause", err)
			}
			_, gerr := fk.client.BatchV1().Jobs(testNS).Get(context.Background(), jobName(task), metav1.GetOptions{})
			if kept := gerr == nil; kept != tt.wantKept {
				t.Errorf("job kept = %v, want %v", kept, tt.wantKept)
			}
			if !tt.wantKept {
				assertGone(t, fk, jobName(task))
			}
		})
	}
}

func TestCancelDeletesJobAndSecret(t *testing.T) {
	fk := newFakeKube(t, testNS)
	task := "dddddddd-0000-4000-8000-000000000000"
	fk.hold[task] = make(chan struct{})
	e := newExecutor(t, fk)
	errc := make(chan error, 1)
	go func() {
		_, err := e.Execute(execCtx(t), testRequest(task, runner.Step{Name: "s", Image: "alpine:3", Run: "true"}))
		errc <- err
	}()
	waitFor(t, func() bool { return fk.startedCount(jobName(task)) == 1 })
	if err := e.Cancel(context.Background(), task); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "deleted before it finished") {
		t.Fatalf("waiting Execute = %v", err)
	}
	assertGone(t, fk, jobName(task))
}

// A Job left suspended (its creator died between create and release)
// gets its Secret and is started by the next Execute, exactly once.
func TestSuspendedOrphanIsReleased(t *testing.T) {
	task := "eeeeeeee-0000-4000-8000-000000000000"
	req := testRequest(task, runner.Step{Name: "s", Image: "alpine:3", Run: "echo y > y.txt"})
	orphan, err := buildJob(testConfig().withDefaults(), jobSpec{req: req, artifactURL: "https://a/x"})
	if err != nil {
		t.Fatal(err)
	}
	orphan.UID = "orphan-uid"
	fk := newFakeKube(t, testNS, orphan)
	e := newExecutor(t, fk)
	res, err := e.Execute(execCtx(t), req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if len(res.Changed) != 1 {
		t.Errorf("result = %+v", res)
	}
	if got := fk.countActions("create", "jobs"); got != 0 {
		t.Errorf("created %d jobs; want the orphan adopted", got)
	}
	if sec := fk.secret(orphan.Name); sec == nil || sec.OwnerReferences[0].UID != "orphan-uid" {
		t.Errorf("secret = %+v", sec)
	}
}

// All Executes of one Executor share one watch.
func TestOneInformerForConcurrentExecutes(t *testing.T) {
	fk := newFakeKube(t, testNS)
	e := newExecutor(t, fk)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := "ffffffff-0000-4000-8000-00000000000" + string(rune('0'+i))
			_, err := e.Execute(execCtx(t), testRequest(task, runner.Step{Name: "s", Image: "alpine:3", Run: "true"}))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Execute: %v", err)
		}
	}
	// One watch is the test controller's, one the Executor's informer.
	if got := fk.countActions("watch", "jobs"); got != 2 {
		t.Errorf("%d watches on jobs; want the controller's and one informer", got)
	}
}

func TestExecuteRejectsBadInput(t *testing.T) {
	fk := newFakeKube(t, testNS)
	tests := []struct {
		name string
		cfg  Config
		req  runner.Request
		want string
	}{
		{"bad task id", testConfig(), testRequest("Not A UUID!", runner.Step{Name: "s", Image: "a", Run: "true"}), "cannot name a Job"},
		{"no steps", testConfig(), testRequest("99999999-0000-4000-8000-000000000000"), "has no steps"},
		{"reserved env", testConfig(), testRequest("99999999-0000-4000-8000-000000000001",
			runner.Step{Name: "s", Image: "a", Run: "true", Env: map[string]string{"CAMPAIGNBOT_RUN": "rm -rf /"}}), "reserved"},
		{"no image", testConfig(), testRequest("99999999-0000-4000-8000-000000000003", runner.Step{Name: "s", Run: "true"}), "has no image"},
		{"bad config", Config{Namespace: "Bad_NS"}, testRequest("99999999-0000-4000-8000-000000000002", runner.Step{Name: "s", Image: "a", Run: "true"}), "invalid config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(fk.client, tt.cfg, fakeTokens{}, fakeArtifacts{}, fk)
			defer e.Close()
			_, err := e.Execute(execCtx(t), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With the API re-read pushed out to an hour, only informer events can
// wake Execute up: a task still completes promptly.
func TestInformerAloneCompletesTasks(t *testing.T) {
	fk := newFakeKube(t, testNS)
	cfg := testConfig()
	cfg.Resync = time.Hour
	e := New(fk.client, cfg, fakeTokens{}, fakeArtifacts{}, fk)
	defer e.Close()
	// Start the informer (and let its watch open) before the task runs.
	if err := e.watcher.start(execCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return fk.countActions("watch", "jobs") == 2 })
	start := time.Now()
	task := "12345678-0000-4000-8000-000000000000"
	if _, err := e.Execute(execCtx(t), testRequest(task, runner.Step{Name: "s", Image: "alpine:3", Run: "true"})); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v; the informer did not wake Execute", d)
	}
	gets := 0
	for _, a := range fk.client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "jobs" {
			gets++
		}
	}
	if gets != 0 {
		t.Errorf("%d job GETs; the informer should have been enough", gets)
	}
}

// A retried task's new Job is judged by its own pod, not by a pod the
// previous attempt's Job left behind (garbage collection is async).
func TestFailureIgnoresPodsOfEarlierJobs(t *testing.T) {
	task := "0badc0de-0000-4000-8000-000000000000"
	stale := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: jobName(task) + "-old00", Namespace: testNS,
			Labels:            map[string]string{LabelManagedBy: managedBy, LabelTask: task},
			CreationTimestamp: metav1.NewTime(time.Now().Add(time.Hour)), // even if it looks newer
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: jobName(task), UID: "previous-attempt"}},
		},
		Status: corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: cloneContainer, State: terminated(128, "")}}},
	}
	fk := newFakeKube(t, testNS, stale)
	fk.outcome[task] = outcome{failContainer: "s", exitCode: 3}
	e := newExecutor(t, fk)
	_, err := e.Execute(execCtx(t), testRequest(task, runner.Step{Name: "s", Image: "alpine:3", Run: "false"}))
	var se *runner.StepError
	if !errors.As(err, &se) || se.Step != "s" || se.ExitCode != 3 {
		t.Fatalf("err = %v; want the new pod's step failure", err)
	}
}
