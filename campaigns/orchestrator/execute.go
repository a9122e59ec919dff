package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
)

// ExecStore is what executing a repo task reads and writes.
type ExecStore interface {
	GetRepoTask(ctx context.Context, id uuid.UUID) (store.RepoTask, error)
	ClaimRepoTask(ctx context.Context, id uuid.UUID, lease time.Duration) (store.RepoTask, bool, error)
	ExtendLease(ctx context.Context, id uuid.UUID, lease time.Duration) (bool, error)
	FinishRepoTask(ctx context.Context, id uuid.UUID, o store.TaskOutcome) error
	LoadTaskContext(ctx context.Context, t store.RepoTask) (store.TaskContext, error)
}

// ResultStore keeps an execution's change for the publisher.
type ResultStore interface {
	SaveResult(ctx context.Context, taskID uuid.UUID, r *runner.Result) (key string, err error)
}

// Progress hears that a run's tasks moved (the dashboard coalesces these).
type Progress interface {
	RequestUpdate(ctx context.Context, runID int64) error
}

// Slots caps how many tasks run at once across every worker.
type Slots interface {
	Acquire(ctx context.Context, holder string, lease time.Duration, caps ...queue.Cap) (bool, error)
	Release(ctx context.Context, holder string, caps ...queue.Cap)
}

// Caps are the concurrency limits (0: unlimited).
type Caps struct {
	Global, PerInstallation, PerCampaign int
}

// ErrBusy says a concurrency cap is full: try again shortly, not a failure.
var ErrBusy = errors.New("concurrency cap reached")

// ErrLeased says the task is running elsewhere (or its dead worker's lease
// has not expired yet): try again later, it is not a failure.
var ErrLeased = errors.New("repo task is running elsewhere")

// ErrGaveUp wraps the error of a task that failed for good: the caller
// must not retry it (it belongs in the dead-letter queue).
var ErrGaveUp = errors.New("repo task failed for good")

// Runner executes repo tasks: claim under a lease, run the steps through
// an Executor, record the outcome.
type Runner struct {
	store       ExecStore
	exec        runner.Executor
	results     ResultStore
	cloneURL    func(repo string) string
	lease       time.Duration
	maxAttempts int
	limits      runner.Limits
	progress    Progress
	slots       Slots
	caps        Caps
	publish     PublishQueue
	settle      Settler
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// CloneURL maps owner/name to its git URL.
	CloneURL func(repo string) string
	// Lease is how long a claim lasts without a heartbeat; a worker that
	// dies loses its tasks to another after it.
	Lease time.Duration
	// MaxAttempts before a retryable failure becomes final.
	MaxAttempts int
	Limits      runner.Limits
	// Progress, when set, is told about every task outcome.
	Progress Progress
	// Slots and Caps bound concurrent executions (nil Slots: no caps).
	Slots Slots
	Caps  Caps
	// Publish, when set, queues the publishing of a patch_ready task.
	Publish PublishQueue
	// Settle, when set, moves the run forward after each outcome (waves,
	// failure-rate pause, completion).
	Settle Settler
}

// PublishQueue enqueues publishing tasks.
type PublishQueue interface {
	EnqueuePublish(ctx context.Context, taskID, executeKey, patchHash string, in time.Duration) (bool, error)
}

// NewRunner returns a Runner.
func NewRunner(st ExecStore, exec runner.Executor, results ResultStore, cfg RunnerConfig) *Runner {
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Limits == (runner.Limits{}) {
		cfg.Limits = runner.DefaultLimits()
	}
	return &Runner{store: st, exec: exec, results: results, cloneURL: cfg.CloneURL, lease: cfg.Lease, maxAttempts: cfg.MaxAttempts, limits: cfg.Limits, progress: cfg.Progress, slots: cfg.Slots, caps: cfg.Caps, publish: cfg.Publish, settle: cfg.Settle}
}

// Execute runs one repo task. It returns nil when the task is done (or was
// done already), ErrLeased when it must wait, an error wrapping ErrGaveUp
// when it failed for good, and any other error for a retry.
func (r *Runner) Execute(ctx context.Context, taskID uuid.UUID) error {
	caps, err := r.capsFor(ctx, taskID)
	if err != nil {
		return err
	}
	if r.slots != nil && len(caps) > 0 {
		if err := r.acquire(ctx, taskID.String(), caps); err != nil {
			return err
		}
		defer r.slots.Release(ctx, taskID.String(), caps...)
	}
	task, ok, err := r.store.ClaimRepoTask(ctx, taskID, r.lease)
	if errors.Is(err, store.ErrTaskLeased) {
		return ErrLeased
	}
	if err != nil {
		return err
	}
	if !ok {
		zerolog.Ctx(ctx).Debug().Str("task_id", taskID.String()).Str("state", task.State).Msg("repo task already settled; skipping")
		return nil
	}
	tc, err := r.store.LoadTaskContext(ctx, task)
	if err != nil {
		return r.finish(ctx, task, nil, err)
	}
	log := zerolog.Ctx(ctx).With().Str("task_id", taskID.String()).Str("repository", task.Repository).
		Str("campaign", tc.CampaignName).Int("spec_version", tc.SpecVersion).Int("attempt", task.Attempts).Logger()
	ctx = log.WithContext(ctx)

	s, diags := spec.Parse("spec.yaml", []byte(tc.SpecYAML))
	if s == nil || diags.HasErrors() {
		// Stored versions were valid when stored; this means the validator got stricter.
		return r.finish(ctx, task, nil, fmt.Errorf("%w: spec version %d no longer validates: %v", ErrGaveUp, tc.SpecVersion, diags.Err()))
	}
	req := runner.Request{
		TaskID: taskID.String(), InstallationID: tc.Run.InstallationID, Repository: task.Repository,
		CloneURL: r.cloneURL(task.Repository), BaseBranch: task.BaseBranch, BaseSHA: task.BaseSHA,
		Allow: s.Changes.Allow, Limits: r.limits,
	}
	for _, st := range s.Steps {
		req.Steps = append(req.Steps, runner.Step{Name: st.Name, Image: st.Image, Run: st.Run, Env: st.Env, Timeout: time.Duration(st.Timeout)})
	}

	// Keep the lease alive while the steps run; losing it means another
	// worker may take the task, so stop.
	execCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go r.heartbeat(execCtx, cancel, taskID, caps)
	start := time.Now()
	res, execErr := r.exec.Execute(execCtx, req)
	if cause := context.Cause(execCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		execErr = cause
	}
	log.Info().Dur("elapsed", time.Since(start)).Err(execErr).Bool("no_changes", res != nil && res.NoChanges).Msg("repo task executed")
	return r.finish(ctx, task, res, execErr)
}

var errLeaseLost = errors.New("lease lost: another worker may own the task")

// slotWait is how long a task waits in the worker for a free slot before
// handing itself back to the queue (ErrBusy): short waits are cheaper in
// place than through the queue's retry schedule.
const slotWait = 3 * time.Second

func (r *Runner) acquire(ctx context.Context, holder string, caps []queue.Cap) error {
	deadline := time.Now().Add(slotWait)
	for {
		ok, err := r.slots.Acquire(ctx, holder, r.lease, caps...)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrBusy
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// capsFor names the slots a task needs: global, its installation's, its campaign's.
func (r *Runner) capsFor(ctx context.Context, id uuid.UUID) ([]queue.Cap, error) {
	if r.slots == nil || r.caps == (Caps{}) {
		return nil, nil
	}
	t, err := r.store.GetRepoTask(ctx, id)
	if err != nil {
		return nil, err
	}
	tc, err := r.store.LoadTaskContext(ctx, t)
	if err != nil {
		return nil, err
	}
	return []queue.Cap{
		{Key: "execute:global", Limit: r.caps.Global},
		{Key: "execute:installation:" + strconv.FormatInt(tc.Run.InstallationID, 10), Limit: r.caps.PerInstallation},
		{Key: "execute:campaign:" + strconv.FormatInt(tc.Run.CampaignID, 10), Limit: r.caps.PerCampaign},
	}, nil
}

func (r *Runner) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, id uuid.UUID, caps []queue.Cap) {
	t := time.NewTicker(r.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ok, err := r.store.ExtendLease(ctx, id, r.lease)
			if err == nil && !ok {
				cancel(errLeaseLost)
				return
			}
			if r.slots != nil && len(caps) > 0 {
				_, _ = r.slots.Acquire(ctx, id.String(), r.lease, caps...) // refreshes our own slots
			}
		}
	}
}

// finish records the outcome and tells Progress.
func (r *Runner) finish(ctx context.Context, task store.RepoTask, res *runner.Result, execErr error) error {
	err := r.record(ctx, task, res, execErr)
	if r.settle != nil {
		if serr := r.settle.Settle(context.WithoutCancel(ctx), task.RunID); serr != nil {
			zerolog.Ctx(ctx).Warn().Err(serr).Msg("could not move the run forward; the next task outcome will")
		}
	}
	if r.progress != nil {
		if perr := r.progress.RequestUpdate(context.WithoutCancel(ctx), task.RunID); perr != nil {
			zerolog.Ctx(ctx).Warn().Err(perr).Msg("could not schedule a dashboard update")
		}
	}
	return err
}

// record stores the outcome. A failure is retried (state back to queued)
// until MaxAttempts or when retrying cannot help; then it is final.
func (r *Runner) record(ctx context.Context, task store.RepoTask, res *runner.Result, execErr error) error {
	out := store.TaskOutcome{}
	switch {
	case execErr == nil && res.NoChanges:
		out.State, out.BaseSHA = store.TaskNoChanges, res.BaseSHA
	case execErr == nil:
		key, err := r.results.SaveResult(ctx, task.ID, res)
		if err != nil {
			execErr = fmt.Errorf("save result: %w", err)
			break
		}
		out.State, out.BaseSHA, out.PatchHash, out.ResultKey = store.TaskPatchReady, res.BaseSHA, res.PatchHash, key
	}
	if execErr != nil {
		out.Error = execErr.Error()
		var se *runner.StepError
		if errors.As(execErr, &se) {
			out.LogTail = se.LogTail
		}
		final := errors.Is(execErr, ErrGaveUp) || runner.Permanent(execErr) || task.Attempts >= r.maxAttempts
		if final {
			out.State = store.TaskFailed
		} else {
			out.State = store.TaskQueued
		}
		if err := r.recordOutcome(ctx, task.ID, out); err != nil {
			return err
		}
		if final && !errors.Is(execErr, ErrGaveUp) {
			return fmt.Errorf("%w: %w", ErrGaveUp, execErr)
		}
		return execErr
	}
	if err := r.recordOutcome(ctx, task.ID, out); err != nil {
		return err
	}
	if out.State == store.TaskPatchReady && r.publish != nil {
		// A lost enqueue is found again by the sweeper (patch_ready tasks idle too long).
		if _, err := r.publish.EnqueuePublish(context.WithoutCancel(ctx), task.ID.String(), task.DedupeKey, out.PatchHash, 0); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not queue publishing; the sweeper will")
		}
	}
	return nil
}

// recordOutcome records an execution's outcome, through a database blip
// too: the sandbox run it took is not thrown away to wait out the lease.
func (r *Runner) recordOutcome(ctx context.Context, id uuid.UUID, out store.TaskOutcome) error {
	bg := context.WithoutCancel(ctx)
	return recordOutcome(bg, "the execution outcome", func(ctx context.Context) error { return r.store.FinishRepoTask(ctx, id, out) })
}
