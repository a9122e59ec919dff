// Package kube runs campaignbot tasks as Kubernetes Jobs: one batch/v1
// Job per task, whose init containers clone the repository and run each
// step in its own image, and whose main container uploads the result to
// the artifact proxy. The Executor creates the Job and its token Secret,
// waits for it through a shared informer, reads the result back (or the
// failing container's log tail) and deletes what it made. Jobs are named
// and labelled by task, so a restarted worker adopts Jobs that are still
// running instead of starting them again.
package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Upload is where and with what the upload container sends a task's
// result: the artifact proxy URL and a token signed for this one task
// and the upload operation.
type Upload struct {
	URL   string
	Token string
}

// ArtifactTokens mints upload grants (runner/artifacts implements it).
type ArtifactTokens interface {
	UploadGrant(ctx context.Context, taskID string) (Upload, error)
}

// ResultFetcher reads back the result the upload container stored for a
// task. It may return a *runner.PolicyError or *runner.LimitError when
// the agent stored a refusal instead of a change.
type ResultFetcher interface {
	FetchResult(ctx context.Context, taskID string) (*runner.Result, error)
}

// ErrTaskCancelled is the cancellation cause that means "the task is
// cancelled, delete its Job". Any other cancellation of Execute's ctx
// (a worker shutting down) leaves the Job running for a later Execute
// of the same task to adopt:
//
//	ctx, cancel := context.WithCancelCause(ctx)
//	cancel(kube.ErrTaskCancelled)
var ErrTaskCancelled = errors.New("kube: task cancelled")

// cleanupTimeout bounds the deletes run after ctx is already done.
const cleanupTimeout = 30 * time.Second

// Executor is a runner.Executor that runs each task as a Kubernetes Job.
// It is safe for concurrent use; call Close when done with it.
type Executor struct {
	client    kubernetes.Interface
	cfg       Config
	cfgErr    error
	tokens    runner.TokenSource
	artifacts ArtifactTokens
	results   ResultFetcher
	watcher   *jobWatcher
}

var _ runner.Executor = (*Executor)(nil)

// New returns an Executor using client (scoped by RBAC to cfg.Namespace,
// see deploy/rbac/role.yaml). Zero Config fields take their defaults;
// an invalid Config makes every Execute fail with the reason.
func New(client kubernetes.Interface, cfg Config, tokens runner.TokenSource, artifacts ArtifactTokens, results ResultFetcher) *Executor {
	cfg = cfg.withDefaults()
	return &Executor{
		client:    client,
		cfg:       cfg,
		cfgErr:    cfg.Validate(),
		tokens:    tokens,
		artifacts: artifacts,
		results:   results,
		watcher:   newJobWatcher(client, cfg.Namespace),
	}
}

// Close stops the Executor's informer. Jobs keep running.
func (e *Executor) Close() { e.watcher.close() }

// Execute runs req as a Job, or adopts the Job a previous Execute of the
// same task started, and waits for it. See ErrTaskCancelled for what
// cancelling ctx does to the Job.
func (e *Executor) Execute(ctx context.Context, req runner.Request) (*runner.Result, error) {
	if e.cfgErr != nil {
		return nil, fmt.Errorf("kube: invalid config: %w", e.cfgErr)
	}
	if err := validTaskID(req.TaskID); err != nil {
		return nil, err
	}
	job, err := e.startOrAdopt(ctx, req)
	if err != nil {
		return nil, e.interrupted(ctx, req.TaskID, err)
	}
	done, err := e.wait(ctx, job.Name, req.TaskID)
	if err != nil {
		return nil, e.interrupted(ctx, req.TaskID, err)
	}
	if !jobSucceeded(done) {
		ferr := e.diagnose(ctx, req, done)
		if err := e.cleanup(ctx, req.TaskID); err != nil {
			return nil, errors.Join(ferr, err)
		}
		return nil, ferr
	}
	res, err := e.results.FetchResult(ctx, req.TaskID)
	if err != nil {
		if runner.Permanent(err) {
			// The agent stored a refusal: the task is over.
			return nil, errors.Join(err, e.cleanup(ctx, req.TaskID))
		}
		// Keep the Job: a retry adopts it and reads the result again
		// instead of running the steps a second time.
		return nil, fmt.Errorf("kube: fetch result of task %s: %w", req.TaskID, err)
	}
	if res == nil {
		return nil, fmt.Errorf("kube: task %s: result store returned no result", req.TaskID)
	}
	if len(res.Logs) == 0 {
		res.Logs = e.stepLogs(ctx, req, done)
	}
	if err := e.cleanup(ctx, req.TaskID); err != nil {
		return nil, err
	}
	return res, nil
}

// interrupted decides what happens to the Job when Execute stops early:
// a cancelled task loses its Job, a shutting-down worker leaves it.
func (e *Executor) interrupted(ctx context.Context, taskID string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	if errors.Is(context.Cause(ctx), ErrTaskCancelled) {
		return errors.Join(err, e.cleanup(ctx, taskID))
	}
	return fmt.Errorf("kube: task %s: Job %s left for adoption: %w", taskID, jobName(taskID), err)
}

// Cancel deletes the task's Job (and so its pod) and Secret, whether or
// not an Execute is waiting on it; that Execute then fails.
func (e *Executor) Cancel(ctx context.Context, taskID string) error {
	if err := validTaskID(taskID); err != nil {
		return err
	}
	return e.cleanup(ctx, taskID)
}

// cleanup deletes the Job with background propagation (its pods go with
// it) and the Secret. The Secret is owned by the Job, but deleting it
// here does not wait on the garbage collector to get tokens off the
// cluster. It runs even when ctx is already cancelled.
func (e *Executor) cleanup(ctx context.Context, taskID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	name := jobName(taskID)
	bg := metav1.DeletePropagationBackground
	var errs []error
	if err := e.client.BatchV1().Jobs(e.cfg.Namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("kube: delete job %s: %w", name, err))
	}
	if err := e.client.CoreV1().Secrets(e.cfg.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("kube: delete secret %s: %w", name, err))
	}
	return errors.Join(errs...)
}

// wait blocks until the Job is Complete or Failed. The informer wakes it
// up; every Resync it also reads the Job from the API server, so a missed
// watch event costs latency, not a hung task.
func (e *Executor) wait(ctx context.Context, name, taskID string) (*batchv1.Job, error) {
	wake, unsubscribe := e.watcher.subscribe(taskID)
	defer unsubscribe()
	if err := e.watcher.start(ctx); err != nil {
		return nil, err
	}
	tick := time.NewTicker(e.cfg.Resync)
	defer tick.Stop()
	for {
		if job, ok := e.watcher.cached(name); ok && jobFinished(job) {
			return job.DeepCopy(), nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("kube: waiting for job %s: %w", name, context.Cause(ctx))
		case <-wake:
			if _, ok := e.watcher.cached(name); ok {
				continue
			}
		case <-tick.C:
		}
		// Woken without a cached Job (deleted?) or resyncing: ask the API.
		job, err := e.client.BatchV1().Jobs(e.cfg.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil, fmt.Errorf("kube: job %s was deleted before it finished", name)
		case err != nil:
			continue // transient; the next wake-up or tick tries again
		case jobFinished(job):
			return job, nil
		}
	}
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		c := &job.Status.Conditions[i]
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// jobFinished: Complete and Failed are terminal; SuccessCriteriaMet and
// FailureTarget are not (the pod may still be running its upload).
func jobFinished(job *batchv1.Job) bool {
	return jobSucceeded(job) || jobCondition(job, batchv1.JobFailed) != nil
}

func jobSucceeded(job *batchv1.Job) bool { return jobCondition(job, batchv1.JobComplete) != nil }
