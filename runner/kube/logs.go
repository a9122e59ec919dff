package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/campaignbot/campaignbot/runner"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// logTailLines bounds what the API server sends; the byte tail is cut
// here. Both matter: one huge line, or a million short ones.
const logTailLines = 2000

// logTail reads the last max bytes of a container's log (pods/log). It
// reports whether older output was dropped.
func (e *Executor) logTail(ctx context.Context, pod, container string, max int64) (string, bool, error) {
	opts := &corev1.PodLogOptions{Container: container, TailLines: ptr(int64(logTailLines))}
	stream, err := e.client.CoreV1().Pods(e.cfg.Namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return "", false, fmt.Errorf("kube: logs of %s/%s: %w", pod, container, err)
	}
	defer stream.Close()
	tail, truncated, err := readTail(stream, max)
	if err != nil {
		return tail, truncated, fmt.Errorf("kube: logs of %s/%s: %w", pod, container, err)
	}
	return tail, truncated, nil
}

// readTail keeps the last max bytes of r without holding more than
// 2*max in memory.
func readTail(r io.Reader, max int64) (string, bool, error) {
	if max <= 0 {
		return "", false, nil
	}
	buf := make([]byte, 0, 2*max)
	chunk := make([]byte, 32<<10)
	truncated := false
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if int64(len(buf)) > 2*max {
			buf = append(buf[:0], buf[int64(len(buf))-max:]...)
			truncated = true
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return tailOf(buf, max, &truncated), truncated, err
		}
	}
	return tailOf(buf, max, &truncated), truncated, nil
}

func tailOf(buf []byte, max int64, truncated *bool) string {
	if int64(len(buf)) > max {
		*truncated = true
		buf = buf[int64(len(buf))-max:]
	}
	return string(buf)
}

// jobPod returns the Job's most recent pod, or nil if none exists (the
// Job failed before scheduling, or the pod is gone). Pods are listed by
// task label and kept only if this Job owns them: a retried task's new
// Job must not be judged by the old Job's pod, which the garbage
// collector may not have removed yet.
func (e *Executor) jobPod(ctx context.Context, job *batchv1.Job) (*corev1.Pod, error) {
	taskID := job.Labels[LabelTask]
	list, err := e.client.CoreV1().Pods(e.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: taskSelector(taskID)})
	if err != nil {
		return nil, fmt.Errorf("kube: pods of task %s: %w", taskID, err)
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		for _, o := range p.OwnerReferences {
			if o.UID == job.UID && o.Kind == "Job" {
				pods = append(pods, p)
				break
			}
		}
	}
	if len(pods) == 0 {
		return nil, nil
	}
	sort.Slice(pods, func(i, j int) bool {
		return pods[i].CreationTimestamp.After(pods[j].CreationTimestamp.Time) ||
			(pods[i].CreationTimestamp.Equal(&pods[j].CreationTimestamp) && pods[i].Name > pods[j].Name)
	})
	return &pods[0], nil
}

// stepLogs rebuilds Result.Logs from the pod when the uploaded result
// has none: exit codes and durations from the container statuses, output
// from pods/log. Best effort: a missing pod yields no logs, not an error.
func (e *Executor) stepLogs(ctx context.Context, req runner.Request, job *batchv1.Job) []runner.StepLog {
	pod, err := e.jobPod(ctx, job)
	if err != nil || pod == nil {
		return nil
	}
	max := effectiveLimits(req.Limits).MaxLogBytes
	names := containerNames(stepNames(req.Steps))
	out := make([]runner.StepLog, 0, len(req.Steps))
	for i, st := range req.Steps {
		l := runner.StepLog{Name: st.Name}
		if cs := containerStatus(pod, names[i]); cs != nil && cs.State.Terminated != nil {
			t := cs.State.Terminated
			l.ExitCode = int(t.ExitCode)
			l.Duration = t.FinishedAt.Sub(t.StartedAt.Time)
		}
		l.Output, l.Truncated, _ = e.logTail(ctx, pod.Name, names[i], max)
		out = append(out, l)
	}
	return out
}

func containerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
