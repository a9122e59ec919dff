package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeKube plays the Kubernetes control plane and kubelet for the
// Executor: it watches Jobs, and for each released one runs the pod
// in-process (the step containers' commands really run under sh, with
// the env the kubelet would give them), then records container statuses,
// serves their logs through pods/log and marks the Job Complete or
// Failed the way the Job controller does.
type fakeKube struct {
	t      *testing.T
	client *fake.Clientset
	ns     string

	mu      sync.Mutex
	logs    map[string]string // container -> output (containers are unique per test)
	results map[string]*runner.Result
	started map[string]int // job name -> times its pod was started
	secrets map[string]*corev1.Secret
	hold    map[string]chan struct{} // task -> closed when the pod may finish
	// outcome overrides the in-process run for one task.
	outcome map[string]outcome
	// wg tracks the pod goroutines so that none outlives its test.
	wg sync.WaitGroup
}

// outcome forces how a task's pod ends instead of running it.
type outcome struct {
	failContainer string // exits non-zero (or is running, with deadline)
	exitCode      int32
	deadline      bool
	termMessage   string
}

func newFakeKube(t *testing.T, ns string, objs ...runtime.Object) *fakeKube {
	t.Helper()
	fk := &fakeKube{
		t: t, client: fake.NewClientset(objs...), ns: ns,
		logs: map[string]string{}, results: map[string]*runner.Result{},
		started: map[string]int{}, secrets: map[string]*corev1.Secret{},
		hold: map[string]chan struct{}{}, outcome: map[string]outcome{},
	}
	// The fake tracker assigns no UIDs; an owner reference needs one.
	fk.client.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if obj, ok := a.(k8stesting.CreateAction).GetObject().(metav1.Object); ok && obj.GetUID() == "" {
			obj.SetUID(types.UID(fmt.Sprintf("uid-%s-%d", obj.GetName(), time.Now().UnixNano())))
		}
		return false, nil, nil
	})
	fk.client.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		opts, _ := a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		if opts == nil {
			return true, nil, errors.New("pods/log without options")
		}
		fk.mu.Lock()
		defer fk.mu.Unlock()
		out, ok := fk.logs[opts.Container]
		if !ok {
			return true, nil, fmt.Errorf("container %q has no log", opts.Container)
		}
		return true, &runtime.Unknown{Raw: []byte(out)}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); fk.wg.Wait() })
	w, err := fk.client.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch jobs: %v", err)
	}
	fk.wg.Add(1)
	go func() { defer fk.wg.Done(); fk.loop(ctx, w) }()
	return fk
}

func (fk *fakeKube) loop(ctx context.Context, w watch.Interface) {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			job, isJob := ev.Object.(*batchv1.Job)
			if !isJob || ev.Type == watch.Deleted || ev.Type == watch.Error {
				continue
			}
			if job.Spec.Suspend != nil && *job.Spec.Suspend || jobFinished(job) {
				continue
			}
			// A real pod would sit in ContainerCreating without its
			// Secret. Checked here, when the release is seen, so that a
			// later Cancel deleting it is no false alarm.
			sec, err := fk.client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("secrets"), fk.ns, job.Name)
			if err != nil {
				fk.t.Errorf("job %s released before its secret exists: %v", job.Name, err)
				continue
			}
			fk.mu.Lock()
			if fk.secrets[job.Name] == nil {
				fk.secrets[job.Name] = sec.(*corev1.Secret).DeepCopy()
			}
			first := fk.started[job.Name] == 0
			fk.started[job.Name]++
			hold := fk.hold[job.Labels[LabelTask]]
			fk.mu.Unlock()
			if first {
				fk.wg.Add(1)
				go func() { defer fk.wg.Done(); fk.run(ctx, job.DeepCopy(), hold) }()
			}
		}
	}
}

// run is the kubelet plus the Job controller for one Job.
func (fk *fakeKube) run(ctx context.Context, job *batchv1.Job, hold chan struct{}) {
	task := job.Labels[LabelTask]
	fk.mu.Lock()
	oc, forced := fk.outcome[task]
	fk.mu.Unlock()

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: job.Name + "-x7k2p", Namespace: fk.ns, Labels: job.Spec.Template.Labels,
			CreationTimestamp: metav1.Now(),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr(true)}},
		},
		Spec: job.Spec.Template.Spec,
	}
	var statuses []corev1.ContainerStatus
	failed, reason := false, ""
	if forced {
		statuses, failed, reason = fk.forced(job, oc)
	} else {
		statuses, failed = fk.execute(job)
		reason = batchv1.JobReasonBackoffLimitExceeded
	}
	n := len(job.Spec.Template.Spec.InitContainers)
	pod.Status.InitContainerStatuses = statuses[:min(n, len(statuses))]
	if len(statuses) > n {
		pod.Status.ContainerStatuses = statuses[n:]
	}
	pod.Status.Phase = corev1.PodSucceeded
	if failed {
		pod.Status.Phase = corev1.PodFailed
	}
	if _, err := fk.client.CoreV1().Pods(fk.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		fk.t.Errorf("create pod: %v", err)
		return
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return
		}
	}
	now := metav1.Now()
	// Read through the tracker, not the client, so that tests counting
	// the Executor's GETs do not count the controller's.
	obj, err := fk.client.Tracker().Get(batchv1.SchemeGroupVersion.WithResource("jobs"), fk.ns, job.Name)
	if err != nil {
		return // deleted meanwhile (cancelled)
	}
	cur := obj.(*batchv1.Job).DeepCopy()
	cur.Status.StartTime = &now
	if failed {
		cur.Status.Failed = 1
		cur.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: "simulated", LastTransitionTime: now},
		}
	} else {
		cur.Status.Succeeded = 1
		cur.Status.CompletionTime = &now
		cur.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
	}
	if _, err := fk.client.BatchV1().Jobs(fk.ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		fk.t.Errorf("update job status: %v", err)
	}
}

func terminated(code int32, msg string) corev1.ContainerState {
	start := metav1.NewTime(time.Now().Add(-2 * time.Second))
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, StartedAt: start, FinishedAt: metav1.NewTime(start.Add(time.Second)), Message: msg,
	}}
}

// execute runs the pod: clone makes a workspace, each step runs its
// container command under sh with the container's env as the kubelet
// would expand it, upload turns the workspace into the stored Result.
func (fk *fakeKube) execute(job *batchv1.Job) ([]corev1.ContainerStatus, bool) {
	spec := job.Spec.Template.Spec
	// Not t.TempDir: its cleanup could run before this goroutine ends.
	ws, err := os.MkdirTemp("", "fakekube-ws-")
	if err != nil {
		fk.t.Errorf("workspace: %v", err)
		return nil, true
	}
	defer os.RemoveAll(ws)
	var statuses []corev1.ContainerStatus
	for _, c := range spec.InitContainers {
		if c.Name == cloneContainer {
			if err := os.WriteFile(filepath.Join(ws, "README.md"), []byte("hello\n"), 0o644); err != nil {
				fk.t.Errorf("clone: %v", err)
			}
			fk.setLog(c.Name, "cloned\n")
			statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, State: terminated(0, "")})
			continue
		}
		cmd := exec.Command(c.Command[0], c.Command[1:]...)
		cmd.Dir = ws
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for _, e := range c.Env {
			cmd.Env = append(cmd.Env, e.Name+"="+unescapeEnv(e.Value))
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		code := int32(0)
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			code = 127
			if errors.As(err, &ee) {
				code = int32(ee.ExitCode())
			} else {
				fk.t.Errorf("run %s: %v", c.Name, err)
			}
		}
		fk.setLog(c.Name, out.String())
		statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, State: terminated(code, "")})
		if code != 0 {
			return statuses, true
		}
	}
	res := &runner.Result{BaseSHA: job.Annotations[AnnotationBaseSHA]}
	entries, _ := os.ReadDir(ws)
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(ws, e.Name()))
		if err != nil {
			fk.t.Errorf("upload: %v", err)
		}
		res.Changed = append(res.Changed, runner.FileChange{Path: e.Name(), Mode: runner.ModeFile, Content: b})
	}
	sort.Slice(res.Changed, func(i, j int) bool { return res.Changed[i].Path < res.Changed[j].Path })
	res.NoChanges = len(res.Changed) == 0
	fk.mu.Lock()
	fk.results[job.Labels[LabelTask]] = res
	fk.mu.Unlock()
	fk.setLog(uploadContainer, "uploaded\n")
	statuses = append(statuses, corev1.ContainerStatus{Name: uploadContainer, State: terminated(0, "")})
	return statuses, false
}

// forced fabricates the statuses for an outcome: containers before the
// failing one succeeded, the failing one exited (or was still running
// at the deadline), later ones never ran.
func (fk *fakeKube) forced(job *batchv1.Job, oc outcome) ([]corev1.ContainerStatus, bool, string) {
	spec := job.Spec.Template.Spec
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	var statuses []corev1.ContainerStatus
	reason := batchv1.JobReasonBackoffLimitExceeded
	if oc.deadline {
		reason = batchv1.JobReasonDeadlineExceeded
	}
	reached := false
	for _, c := range all {
		switch {
		case reached:
			statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}})
		case c.Name == oc.failContainer && oc.deadline:
			fk.setLog(c.Name, "still going...\n")
			statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}})
			reached = true
		case c.Name == oc.failContainer:
			statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, State: terminated(oc.exitCode, oc.termMessage)})
			reached = true
		default:
			fk.setLog(c.Name, "ok\n")
			statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, State: terminated(0, "")})
		}
	}
	return statuses, true, reason
}

func (fk *fakeKube) setLog(container, out string) {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	if _, ok := fk.logs[container]; !ok {
		fk.logs[container] = out
	}
}

// FetchResult makes fakeKube the artifact store too.
func (fk *fakeKube) FetchResult(_ context.Context, taskID string) (*runner.Result, error) {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	r, ok := fk.results[taskID]
	if !ok {
		return nil, fmt.Errorf("no result for task %s", taskID)
	}
	return r, nil
}

func (fk *fakeKube) startedCount(job string) int {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	return fk.started[job]
}

func (fk *fakeKube) secret(job string) *corev1.Secret {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	return fk.secrets[job]
}

// countActions counts client calls of verb on resource.
func (fk *fakeKube) countActions(verb, resource string) int {
	n := 0
	for _, a := range fk.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && a.GetSubresource() == "" {
			n++
		}
	}
	return n
}

type fakeTokens struct{}

func (fakeTokens) RepoReadToken(_ context.Context, inst int64, repo string) (string, error) {
	return fmt.Sprintf("ghs_read_%d_%s", inst, strings.ReplaceAll(repo, "/", "_")), nil
}

type fakeArtifacts struct{}

func (fakeArtifacts) UploadGrant(_ context.Context, taskID string) (Upload, error) {
	return Upload{URL: "https://artifacts.internal/v1/tasks/" + taskID, Token: "upl_" + taskID}, nil
}
