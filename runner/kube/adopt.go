package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/campaignbot/campaignbot/runner"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// startOrAdopt returns the task's Job, running. A Job that already
// exists (found by its task label, or by losing the create race on its
// name) is adopted, never started a second time. A Job that exists but
// is still suspended (its creator died before releasing it) gets a fresh
// Secret and is released.
func (e *Executor) startOrAdopt(ctx context.Context, req runner.Request) (*batchv1.Job, error) {
	job, err := e.findJob(ctx, req.TaskID)
	if err != nil {
		return nil, err
	}
	var grant *Upload
	if job == nil {
		g, err := e.artifacts.UploadGrant(ctx, req.TaskID)
		if err != nil {
			return nil, fmt.Errorf("kube: upload grant for task %s: %w", req.TaskID, err)
		}
		grant = &g
		want, err := buildJob(e.cfg, jobSpec{req: req, meta: taskMetaFrom(ctx), artifactURL: g.URL})
		if err != nil {
			return nil, err
		}
		jobs := e.client.BatchV1().Jobs(e.cfg.Namespace)
		job, err = jobs.Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			job, err = jobs.Get(ctx, want.Name, metav1.GetOptions{})
		}
		if err != nil {
			return nil, fmt.Errorf("kube: create job %s: %w", want.Name, err)
		}
	}
	if job.Labels[LabelTask] != req.TaskID || job.Labels[LabelManagedBy] != managedBy {
		return nil, fmt.Errorf("kube: job %s exists but is not campaignbot's job for task %s", job.Name, req.TaskID)
	}
	if job.DeletionTimestamp != nil {
		return nil, fmt.Errorf("kube: job %s is being deleted; retry once it is gone", job.Name)
	}
	if job.Spec.Suspend != nil && *job.Spec.Suspend {
		if err := e.release(ctx, req, job, grant); err != nil {
			return nil, err
		}
	}
	return job, nil
}

// findJob looks the task's Job up by label, the key a restarted runner
// has. Name and label agree for Jobs this package made; the label is
// what survives a change of naming scheme.
func (e *Executor) findJob(ctx context.Context, taskID string) (*batchv1.Job, error) {
	list, err := e.client.BatchV1().Jobs(e.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: taskSelector(taskID)})
	if err != nil {
		return nil, fmt.Errorf("kube: find job of task %s: %w", taskID, err)
	}
	var live []*batchv1.Job
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp == nil {
			live = append(live, &list.Items[i])
		}
	}
	switch len(live) {
	case 0:
		return nil, nil
	case 1:
		return live[0], nil
	default:
		names := make([]string, len(live))
		for i, j := range live {
			names[i] = j.Name
		}
		sort.Strings(names)
		return nil, fmt.Errorf("kube: task %s has %d jobs %v; delete all but one", taskID, len(live), names)
	}
}

// release creates the Secret, owned by the suspended Job, then lets the
// Job start. grant is reused when this Execute just minted it.
func (e *Executor) release(ctx context.Context, req runner.Request, job *batchv1.Job, grant *Upload) error {
	if job.UID == "" {
		return errors.New("kube: job has no uid; cannot own its secret")
	}
	if grant == nil {
		g, err := e.artifacts.UploadGrant(ctx, req.TaskID)
		if err != nil {
			return fmt.Errorf("kube: upload grant for task %s: %w", req.TaskID, err)
		}
		grant = &g
	}
	clone, err := e.tokens.RepoReadToken(ctx, req.InstallationID, req.Repository)
	if err != nil {
		return &runner.CloneError{Repository: req.Repository, Err: fmt.Errorf("mint read token: %w", err)}
	}
	if err := e.ensureSecret(ctx, job, tokens{clone: clone, upload: grant.Token}); err != nil {
		return err
	}
	patch := []byte(`{"spec":{"suspend":false}}`)
	if _, err := e.client.BatchV1().Jobs(e.cfg.Namespace).Patch(ctx, job.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("kube: start job %s: %w", job.Name, err)
	}
	return nil
}

// InFlight lists the task IDs of the runner's unfinished Jobs: what a
// worker coming back up can adopt by calling Execute for each task.
func (e *Executor) InFlight(ctx context.Context) ([]string, error) {
	list, err := e.client.BatchV1().Jobs(e.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: managedSelector})
	if err != nil {
		return nil, fmt.Errorf("kube: list jobs: %w", err)
	}
	var ids []string
	for i := range list.Items {
		j := &list.Items[i]
		if j.DeletionTimestamp == nil && !jobFinished(j) && j.Labels[LabelTask] != "" {
			ids = append(ids, j.Labels[LabelTask])
		}
	}
	sort.Strings(ids)
	return ids, nil
}
