package kube_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/kube"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// controller plays the Job controller and the kubelet through the real
// API with admin rights: it creates each released Job's pod (so Pod
// Security Admission judges the runner's template), writes the pod's
// container statuses through pods/status and the Job's conditions
// through jobs/status, and stores the task's result.
type controller struct {
	t     *testing.T
	admin kubernetes.Interface

	mu      sync.Mutex
	plans   map[string]plan // task -> how its pod ends
	pods    map[string]int  // job name -> pods created
	podErrs map[string]error
	results map[string]*runner.Result
	wg      sync.WaitGroup
}

// plan says how a task's pod ends; the zero plan succeeds.
type plan struct {
	failContainer string
	exitCode      int32
	message       string
	hold          chan struct{} // the pod finishes once this closes
}

func startController(t *testing.T, admin kubernetes.Interface) *controller {
	t.Helper()
	c := &controller{t: t, admin: admin, plans: map[string]plan{}, pods: map[string]int{},
		podErrs: map[string]error{}, results: map[string]*runner.Result{}}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := admin.BatchV1().Jobs(jobsNS).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch jobs: %v", err)
	}
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.loop(ctx, w) }()
	t.Cleanup(func() { cancel(); w.Stop(); c.wg.Wait() })
	return c
}

func (c *controller) plan(task string, p plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plans[task] = p
}

func (c *controller) loop(ctx context.Context, w watch.Interface) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			job, isJob := ev.Object.(*batchv1.Job)
			if !isJob || ev.Type == watch.Deleted || (job.Spec.Suspend != nil && *job.Spec.Suspend) || len(job.Status.Conditions) > 0 {
				continue
			}
			c.mu.Lock()
			first := c.pods[job.Name] == 0
			c.pods[job.Name]++
			p := c.plans[job.Labels[kube.LabelTask]]
			c.mu.Unlock()
			if first {
				c.wg.Add(1)
				go func() { defer c.wg.Done(); c.run(ctx, job.DeepCopy(), p) }()
			}
		}
	}
}

func (c *controller) run(ctx context.Context, job *batchv1.Job, p plan) {
	task := job.Labels[kube.LabelTask]
	// The kubelet would wait for the Secret; it must exist, owned by
	// this very Job, before the Job is released.
	sec, err := c.admin.CoreV1().Secrets(jobsNS).Get(ctx, job.Name, metav1.GetOptions{})
	switch {
	case err != nil:
		c.t.Errorf("job %s released without its secret: %v", job.Name, err)
	case len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != job.UID:
		c.t.Errorf("secret %s owners = %+v, want job uid %s", sec.Name, sec.OwnerReferences, job.UID)
	case string(sec.Data["upload-token"]) != "upl_"+task || len(sec.Data["clone-token"]) == 0:
		c.t.Errorf("secret %s keys = %v", sec.Name, keys(sec.Data))
	}
	pod, err := c.createPod(ctx, job)
	c.mu.Lock()
	c.podErrs[job.Name] = err
	c.mu.Unlock()
	if err != nil {
		c.finishJob(ctx, job.Name, false, "PodCreateFailed")
		return
	}
	if p.hold != nil {
		select {
		case <-p.hold:
		case <-ctx.Done():
			return
		}
	}
	failed := p.failContainer != ""
	if err := c.setPodStatus(ctx, pod, p); err != nil {
		c.t.Errorf("pod status: %v", err)
		return
	}
	if !failed {
		c.mu.Lock()
		c.results[task] = &runner.Result{NoChanges: true, BaseSHA: job.Annotations[kube.AnnotationBaseSHA],
			Logs: []runner.StepLog{{Name: "recorded by upload"}}}
		c.mu.Unlock()
	}
	c.finishJob(ctx, job.Name, !failed, batchv1.JobReasonBackoffLimitExceeded)
}

// createPod does what the Job controller does: a pod from the template,
// owned by the Job. Admission (Pod Security included) runs here.
func (c *controller) createPod(ctx context.Context, job *batchv1.Job) (*corev1.Pod, error) {
	labels := map[string]string{"batch.kubernetes.io/job-name": job.Name, "batch.kubernetes.io/controller-uid": string(job.UID)}
	for k, v := range job.Spec.Template.Labels {
		labels[k] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: job.Name + "-",
			Namespace:    jobsNS,
			Labels:       labels,
			Annotations:  job.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true)}},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	return c.admin.CoreV1().Pods(jobsNS).Create(ctx, pod, metav1.CreateOptions{})
}

func (c *controller) setPodStatus(ctx context.Context, pod *corev1.Pod, p plan) error {
	start := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	end := metav1.NewTime(start.Add(10 * time.Second))
	status := func(ctr corev1.Container, code int32, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{
			Name: ctr.Name, Image: ctr.Image, ImageID: "docker.io/library/x@sha256:00",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: code, Message: msg, Reason: map[bool]string{true: "Completed", false: "Error"}[code == 0],
				StartedAt: start, FinishedAt: end,
			}},
		}
	}
	pod.Status.Phase = corev1.PodSucceeded
	reached := false
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i, ctr := range all {
		var st corev1.ContainerStatus
		switch {
		case reached:
			st = corev1.ContainerStatus{Name: ctr.Name, Image: ctr.Image,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}
		case ctr.Name == p.failContainer:
			st = status(ctr, p.exitCode, p.message)
			pod.Status.Phase = corev1.PodFailed
			reached = true
		default:
			st = status(ctr, 0, "")
		}
		if i < len(pod.Spec.InitContainers) {
			pod.Status.InitContainerStatuses = append(pod.Status.InitContainerStatuses, st)
		} else {
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, st)
		}
	}
	_, err := c.admin.CoreV1().Pods(jobsNS).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

// finishJob sets the terminal conditions the way the Job controller
// does, through the status subresource (validated by the server).
func (c *controller) finishJob(ctx context.Context, name string, ok bool, reason string) {
	job, err := c.admin.BatchV1().Jobs(jobsNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		c.t.Errorf("get job %s: %v", name, err)
		return
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	if job.Status.StartTime == nil {
		job.Status.StartTime = &now
	}
	if ok {
		job.Status.Succeeded = 1
		job.Status.CompletionTime = &now
		job.Status.Conditions = append(job.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastProbeTime: now, LastTransitionTime: now},
			batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastProbeTime: now, LastTransitionTime: now})
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = append(job.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: reason, Message: "simulated", LastProbeTime: now, LastTransitionTime: now},
			batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: "simulated", LastProbeTime: now, LastTransitionTime: now})
	}
	if _, err := c.admin.BatchV1().Jobs(jobsNS).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		c.t.Errorf("job %s status: %v", name, err)
	}
}

func (c *controller) FetchResult(_ context.Context, taskID string) (*runner.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.results[taskID]
	if !ok {
		return nil, fmt.Errorf("no result for %s", taskID)
	}
	return r, nil
}

func (c *controller) podsCreated(job string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pods[job], c.podErrs[job]
}

func ptr[T any](v T) *T { return &v }

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
