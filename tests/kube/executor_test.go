package kube_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

type tokens struct{}

func (tokens) RepoReadToken(context.Context, int64, string) (string, error) { return "ghs_read", nil }

type artifacts struct{}

func (artifacts) UploadGrant(_ context.Context, task string) (kube.Upload, error) {
	return kube.Upload{URL: "https://artifacts.internal/v1/tasks/" + task, Token: "upl_" + task}, nil
}

// warnings records what the API server warned about (Pod Security
// warn mode reports a weak Job template on create).
type warnings struct {
	mu  sync.Mutex
	got []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, text)
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

func clients(t *testing.T, c *cluster) (admin, runnerClient kubernetes.Interface, warn *warnings) {
	t.Helper()
	admin, err := c.clientset(adminToken)
	if err != nil {
		t.Fatal(err)
	}
	warn = &warnings{}
	cfg := c.restConfig(runnerToken)
	cfg.WarningHandler = warn
	runnerClient, err = kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return admin, runnerClient, warn
}

func newExecutor(client kubernetes.Interface, results kube.ResultFetcher) *kube.Executor {
	return kube.New(client, kube.Config{
		Namespace:          jobsNS,
		AgentImage:         "ghcr.io/campaignbot/campaignbot:test",
		ServiceAccountName: "campaignbot-task",
		Resync:             500 * time.Millisecond,
		// Every optional field set, so real validation sees them all.
		ImagePullSecrets: []string{"ghcr"},
		NodeSelector:     map[string]string{"campaignbot.dev/pool": "tasks"},
		Tolerations: []kube.Toleration{{Key: "dedicated", Operator: "Equal", Value: "campaignbot", Effect: "NoSchedule"},
			{Key: "spot", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr(int64(60))}},
		Labels: map[string]string{"team": "platform"},
	}, tokens{}, artifacts{}, results)
}

func request(task string, steps ...runner.Step) runner.Request {
	if len(steps) == 0 {
		steps = []runner.Step{
			{Name: "Bump Go", Image: "golang:1.26", Run: "go mod edit -go=1.26", Timeout: time.Minute},
			{Name: "gofmt", Image: "golang:1.26", Run: `gofmt -w $(git ls-files '*.go')`, Env: map[string]string{"GOFLAGS": "-mod=mod"}},
			{Name: "A very long step name that is well over the sixty-three characters a container name may have", Image: "alpine:3", Run: "true", Network: true},
		}
	}
	return runner.Request{TaskID: task, InstallationID: 7, Repository: "acme/widgets",
		CloneURL: "https://github.com/acme/widgets.git", BaseBranch: "main",
		BaseSHA: "0123456789abcdef0123456789abcdef01234567", Steps: steps, Allow: []string{"go.mod", "*.go"}}
}

func timeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func assertDeleted(t *testing.T, admin kubernetes.Interface, task string) {
	t.Helper()
	name := "campaignbot-" + task
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, jerr := admin.BatchV1().Jobs(jobsNS).Get(context.Background(), name, metav1.GetOptions{})
		_, serr := admin.CoreV1().Secrets(jobsNS).Get(context.Background(), name, metav1.GetOptions{})
		// With no garbage collector running, a Background delete leaves
		// the Job gone at once; the Secret the runner deletes itself.
		if apierrors.IsNotFound(jerr) && apierrors.IsNotFound(serr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job/secret of %s not deleted: job %v, secret %v", task, jerr, serr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The runner, with only the shipped Role, runs a task end to end: the
// API server accepts the Job and Secret, Pod Security "restricted"
// admits the pod, and the runner cleans up.
func TestExecuteWithRunnerRole(t *testing.T) {
	c := need(t)
	admin, rc, warn := clients(t, c)
	ctl := startController(t, admin)
	e := newExecutor(rc, ctl)
	defer e.Close()
	task := "11111111-1111-4111-8111-111111111111"
	res, err := e.Execute(kube.WithTaskMeta(timeout(t), kube.TaskMeta{CampaignID: "3", RunID: "9"}), request(task))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if !res.NoChanges || res.BaseSHA == "" {
		t.Errorf("result = %+v", res)
	}
	n, podErr := ctl.podsCreated("campaignbot-" + task)
	if n != 1 || podErr != nil {
		t.Fatalf("pods created = %d, admission error = %v", n, podErr)
	}
	if w := warn.list(); len(w) != 0 {
		t.Errorf("API server warnings: %q", w)
	}
	assertDeleted(t, admin, task)
}

// A Secret left by an earlier attempt (whose Job is gone) is replaced:
// the runner may not read it, so it deletes and recreates it.
func TestStaleSecretIsReplaced(t *testing.T) {
	c := need(t)
	admin, rc, _ := clients(t, c)
	ctl := startController(t, admin)
	task := "66666666-6666-4666-8666-666666666666"
	stale := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "campaignbot-" + task, Namespace: jobsNS},
		Data: map[string][]byte{"clone-token": []byte("expired"), "upload-token": []byte("expired")}}
	if _, err := admin.CoreV1().Secrets(jobsNS).Create(context.Background(), stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := newExecutor(rc, ctl)
	defer e.Close()
	if _, err := e.Execute(timeout(t), request(task)); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	assertDeleted(t, admin, task)
}

// A failing step comes back as a StepError naming it. There is no
// kubelet, so pods/log fails and the log tail is the termination
// message the kubelet would have filled from the log.
func TestStepFailureThroughRealAPI(t *testing.T) {
	c := need(t)
	admin, rc, _ := clients(t, c)
	ctl := startController(t, admin)
	e := newExecutor(rc, ctl)
	defer e.Close()
	task := "22222222-2222-4222-8222-222222222222"
	ctl.plan(task, plan{failContainer: "gofmt", exitCode: 2, message: "main.go:3:1: expected declaration\n"})
	_, err := e.Execute(timeout(t), request(task))
	var se *runner.StepError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v; want a StepError", err)
	}
	if se.Step != "gofmt" || se.ExitCode != 2 || se.TimedOut || !strings.Contains(se.LogTail, "expected declaration") {
		t.Errorf("StepError = %+v (log tail %q)", se, se.LogTail)
	}
	assertDeleted(t, admin, task)
}

// A worker restart: the first runner's ctx ends while the pod runs; a
// new Executor (new client, new informer) adopts the Job by label and
// gets its result. The Job is the same object and ran one pod.
func TestRestartedRunnerAdopts(t *testing.T) {
	c := need(t)
	admin, rc, _ := clients(t, c)
	ctl := startController(t, admin)
	task := "33333333-3333-4333-8333-333333333333"
	hold := make(chan struct{})
	ctl.plan(task, plan{hold: hold})
	name := "campaignbot-" + task

	first := newExecutor(rc, ctl)
	ctx, shutdown := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := first.Execute(ctx, request(task)); errc <- err }()
	waitUntil(t, func() bool { n, _ := ctl.podsCreated(name); return n == 1 })
	shutdown()
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "left for adoption") {
		t.Fatalf("first Execute = %v", err)
	}
	first.Close()
	before, err := admin.BatchV1().Jobs(jobsNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("job gone after shutdown: %v", err)
	}

	_, rc2, _ := clients(t, c)
	second := newExecutor(rc2, ctl)
	defer second.Close()
	inflight, err := second.InFlight(context.Background())
	if err != nil || len(inflight) != 1 || inflight[0] != task {
		t.Fatalf("InFlight = %v, %v", inflight, err)
	}
	type outcome struct {
		res *runner.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() { r, err := second.Execute(timeout(t), request(task)); done <- outcome{r, err} }()
	// Let the adopting Execute find the Job and start waiting, then let
	// the pod finish.
	time.Sleep(300 * time.Millisecond)
	now, err := admin.BatchV1().Jobs(jobsNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || now.UID != before.UID || now.Generation != before.Generation {
		t.Fatalf("adoption changed the job: uid %s->%s generation %d->%d (%v)", before.UID, now.UID, before.Generation, now.Generation, err)
	}
	close(hold)
	out := <-done
	if out.err != nil || out.res == nil {
		t.Fatalf("adopting Execute = %v, %v", out.res, out.err)
	}
	if n, _ := ctl.podsCreated(name); n != 1 {
		t.Errorf("%d pods; adoption must not start the Job again", n)
	}
	assertDeleted(t, admin, task)
}

// Cancelling the task (as opposed to shutting down) deletes the Job.
func TestCancelledTaskIsDeleted(t *testing.T) {
	c := need(t)
	admin, rc, _ := clients(t, c)
	ctl := startController(t, admin)
	task := "44444444-4444-4444-8444-444444444444"
	ctl.plan(task, plan{hold: make(chan struct{})})
	e := newExecutor(rc, ctl)
	defer e.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := e.Execute(ctx, request(task)); errc <- err }()
	waitUntil(t, func() bool { n, _ := ctl.podsCreated("campaignbot-" + task); return n == 1 })
	cancel(kube.ErrTaskCancelled)
	if err := <-errc; !errors.Is(err, kube.ErrTaskCancelled) {
		t.Fatalf("err = %v", err)
	}
	assertDeleted(t, admin, task)
}

// Pod Security Admission really is enforcing on the namespace: the
// runner's pod passes, and the same pod with one field weakened fails.
func TestPodSecurityRejectsWeakenedPod(t *testing.T) {
	c := need(t)
	admin, rc, _ := clients(t, c)
	ctl := startController(t, admin)
	task := "55555555-5555-4555-8555-555555555555"
	ctl.plan(task, plan{hold: make(chan struct{})})
	e := newExecutor(rc, ctl)
	defer e.Close()
	go func() { _, _ = e.Execute(timeout(t), request(task)) }()
	name := "campaignbot-" + task
	waitUntil(t, func() bool { n, _ := ctl.podsCreated(name); return n == 1 })
	job, err := admin.BatchV1().Jobs(jobsNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Cancel(context.Background(), task) }()

	weaken := []struct {
		name string
		mod  func(*corev1.PodSpec)
	}{
		{"runAsNonRoot unset", func(s *corev1.PodSpec) {
			s.SecurityContext.RunAsNonRoot = nil
			for i := range s.InitContainers {
				s.InitContainers[i].SecurityContext.RunAsNonRoot = nil
			}
			s.Containers[0].SecurityContext.RunAsNonRoot = nil
		}},
		{"privilege escalation", func(s *corev1.PodSpec) { s.InitContainers[1].SecurityContext.AllowPrivilegeEscalation = ptr(true) }},
		{"capability kept", func(s *corev1.PodSpec) { s.InitContainers[1].SecurityContext.Capabilities.Drop = nil }},
		{"no seccomp", func(s *corev1.PodSpec) {
			s.SecurityContext.SeccompProfile = nil
			s.Containers[0].SecurityContext.SeccompProfile = nil
		}},
		{"hostPath", func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes, corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		}},
	}
	for _, w := range weaken {
		t.Run(w.name, func(t *testing.T) {
			spec := job.Spec.Template.Spec.DeepCopy()
			w.mod(spec)
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "weak-", Namespace: jobsNS}, Spec: *spec}
			_, err := admin.CoreV1().Pods(jobsNS).Create(context.Background(), pod, metav1.CreateOptions{})
			if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
				t.Fatalf("create = %v; want a PodSecurity rejection", err)
			}
		})
	}
}

// The Role grants what the runner uses and nothing more.
func TestRunnerRoleIsMinimal(t *testing.T) {
	c := need(t)
	_, rc, _ := clients(t, c)
	ctx := timeout(t)
	forbidden := []struct {
		name string
		call func() error
	}{
		{"list secrets cluster-wide", func() error { _, err := rc.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); return err }},
		{"list secrets in its namespace", func() error { _, err := rc.CoreV1().Secrets(jobsNS).List(ctx, metav1.ListOptions{}); return err }},
		{"read a secret", func() error {
			_, err := rc.CoreV1().Secrets(jobsNS).Get(ctx, "anything", metav1.GetOptions{})
			return err
		}},
		{"create a pod", func() error {
			_, err := rc.CoreV1().Pods(jobsNS).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
			return err
		}},
		{"delete a pod", func() error { return rc.CoreV1().Pods(jobsNS).Delete(ctx, "p", metav1.DeleteOptions{}) }},
		{"exec into a pod", func() error {
			return rc.CoreV1().RESTClient().Post().Namespace(jobsNS).Resource("pods").Name("p").SubResource("exec").Do(ctx).Error()
		}},
		{"list jobs in another namespace", func() error { _, err := rc.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{}); return err }},
		{"update job status", func() error {
			return rc.BatchV1().RESTClient().Put().Namespace(jobsNS).Resource("jobs").Name("j").SubResource("status").Body([]byte("{}")).Do(ctx).Error()
		}},
		{"edit its own role", func() error {
			_, err := rc.RbacV1().Roles(jobsNS).Get(ctx, "campaignbot-runner", metav1.GetOptions{})
			return err
		}},
		{"list namespaces", func() error { _, err := rc.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); return err }},
		{"create a configmap", func() error {
			_, err := rc.CoreV1().ConfigMaps(jobsNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
			return err
		}},
	}
	for _, f := range forbidden {
		t.Run(f.name, func(t *testing.T) {
			if err := f.call(); !apierrors.IsForbidden(err) {
				t.Errorf("err = %v; want Forbidden", err)
			}
		})
	}
	// And what it needs is allowed (the other tests exercise it for real).
	if _, err := rc.BatchV1().Jobs(jobsNS).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list jobs: %v", err)
	}
	if _, err := rc.CoreV1().Pods(jobsNS).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list pods: %v", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var _ = fmt.Sprintf
var _ rest.WarningHandler = (*warnings)(nil)
