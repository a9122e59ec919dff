package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// ControlStore is what run control reads and writes.
type ControlStore interface {
	GetRun(ctx context.Context, runID int64) (store.Run, error)
	LoadRunView(ctx context.Context, runID int64) (store.RunView, error)
	SpecVersionByID(ctx context.Context, id int64) (store.SpecVersion, error)
	SetRunState(ctx context.Context, runID int64, from []string, state, reason string) (bool, error)
	ResumeRun(ctx context.Context, runID int64) (bool, error)
	ReopenRun(ctx context.Context, runID int64) error
	CancelRun(ctx context.Context, runID int64, reason string) (bool, []store.RepoTask, error)
	TasksInStates(ctx context.Context, runID int64, states ...string) ([]store.RepoTask, error)
	RequeueFailedTasks(ctx context.Context, runID int64, repository string) ([]store.RepoTask, error)
	RekeyTask(ctx context.Context, id uuid.UUID, key, baseSHA string) error
	GetRepoTask(ctx context.Context, id uuid.UUID) (store.RepoTask, error)
	LoadTaskContext(ctx context.Context, t store.RepoTask) (store.TaskContext, error)
	SetTaskState(ctx context.Context, id uuid.UUID, from []string, state, reason string) (bool, error)
	RequeueForRebase(ctx context.Context, id uuid.UUID, baseSHA, dedupeKey string) (store.RepoTask, bool, error)
	SnoozeTask(ctx context.Context, id uuid.UUID, until time.Time) error
	Exclude(ctx context.Context, campaignID int64, repo, by, reason string) error
	Approvers(ctx context.Context, controlRepo, name, contentHash string) ([]string, error)
	Setting(ctx context.Context, key string, v any) (bool, string, time.Time, error)
	PutSetting(ctx context.Context, key string, v any, by string) error
}

// CloseQueue enqueues closing a campaign pull request with a comment;
// finalState is the task's state once closed (closed or skipped).
type CloseQueue interface {
	EnqueueClose(ctx context.Context, taskID uuid.UUID, comment, finalState string) (bool, error)
}

// BranchHeads reads the commit a branch points at now.
type BranchHeads interface {
	BranchHead(ctx context.Context, installationID int64, repo, branch string) (string, error)
}

// Control errors.
var (
	// ErrNotApproved: an awaiting run's content lacks the approvals it needs.
	ErrNotApproved = errors.New("the spec content is not approved")
	// ErrWrongState: the run or task is not in a state the action applies to.
	ErrWrongState = errors.New("not possible in the current state")
	// ErrNoPullRequest: the task has no pull request to act on.
	ErrNoPullRequest = errors.New("the task has no pull request")
)

// ControlConfig configures Control.
type ControlConfig struct {
	Store    ControlStore
	Starter  *Starter
	Queue    TaskQueue
	Publish  PublishQueue
	Close    CloseQueue
	Heads    BranchHeads
	Progress Progress
	Settle   *Completion
	// KillSwitch is the configuration's PUBLISHER_KILL_SWITCH.
	KillSwitch bool
	// RequiredApprovals for an awaiting run to start (at least 1).
	RequiredApprovals int
}

// Control changes runs on people's behalf: pause, resume, retry, cancel,
// the kill switch, starting approved runs, and the target maintainers'
// skip, rebase and snooze. It does not authorise: its callers (ChatOps,
// Slack, the REST API) check the actor's rights and write the audit log.
type Control struct {
	cfg ControlConfig

	mu       sync.Mutex
	frozen   frozenFlag
	frozenAt time.Time
}

// NewControl returns a Control.
func NewControl(cfg ControlConfig) *Control {
	if cfg.RequiredApprovals < 1 {
		cfg.RequiredApprovals = 1
	}
	return &Control{cfg: cfg}
}

// Pause stops a running run at the next task boundary: tasks not started
// stay queued, patch_ready changes stay unpublished until Resume.
func (c *Control) Pause(ctx context.Context, runID int64, actor, reason string) (bool, error) {
	why := "paused by @" + actor
	if reason != "" {
		why += ": " + reason
	}
	ok, err := c.cfg.Store.SetRunState(ctx, runID, []string{store.RunRunning}, store.RunPaused, why)
	if err != nil || !ok {
		return ok, err
	}
	zerolog.Ctx(ctx).Info().Int64("run_id", runID).Str("actor", actor).Msg("run paused")
	return true, c.update(ctx, runID)
}

// Resume restarts a paused run where it stopped: queued tasks execute,
// patch_ready changes publish, and the next wave may start.
func (c *Control) Resume(ctx context.Context, runID int64, actor string) (bool, error) {
	ok, err := c.cfg.Store.ResumeRun(ctx, runID)
	if err != nil || !ok {
		return ok, err
	}
	if err := c.requeue(ctx, runID); err != nil {
		return true, err
	}
	// A wave that became due while the run was paused was not released
	// (waves advance only in running runs) and no task outcome is left to
	// release it: settle now, or its tasks would wait in pending for good.
	if c.cfg.Settle != nil {
		if err := c.cfg.Settle.Settle(ctx, runID); err != nil {
			return true, fmt.Errorf("release the next wave of resumed run %d: %w", runID, err)
		}
	}
	zerolog.Ctx(ctx).Info().Int64("run_id", runID).Str("actor", actor).Msg("run resumed")
	return true, c.update(ctx, runID)
}

// requeue enqueues a run's queued and patch_ready tasks: their queue
// entries were dropped while it was paused. Task ids make repeats no-ops.
func (c *Control) requeue(ctx context.Context, runID int64) error {
	tasks, err := c.cfg.Store.TasksInStates(ctx, runID, store.TaskQueued, store.TaskPatchReady)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.State == store.TaskQueued {
			_, err = c.cfg.Queue.EnqueueExecute(ctx, t.ID.String(), t.DedupeKey)
		} else if c.cfg.Publish != nil {
			_, err = c.cfg.Publish.EnqueuePublish(ctx, t.ID.String(), t.DedupeKey, t.PatchHash, 0)
		}
		if err != nil {
			// The rows are the truth: the sweepers enqueue what this missed.
			return fmt.Errorf("enqueue tasks of resumed run %d: %w", runID, err)
		}
	}
	return nil
}

// Retry runs failed tasks again (all of them, or the one of repository),
// with fresh attempts, under new queue ids: the old ones may sit in the
// dead-letter queue. A completed run reopens.
func (c *Control) Retry(ctx context.Context, runID int64, actor, repository string) (int, error) {
	run, err := c.cfg.Store.GetRun(ctx, runID)
	if err != nil {
		return 0, err
	}
	switch run.State {
	case store.RunRunning, store.RunPaused, store.RunCompleted:
	default:
		return 0, fmt.Errorf("retry run %d (%s): %w", runID, run.State, ErrWrongState)
	}
	tasks, err := c.cfg.Store.RequeueFailedTasks(ctx, runID, repository)
	if err != nil || len(tasks) == 0 {
		return 0, err
	}
	if run.State == store.RunCompleted {
		if err := c.cfg.Store.ReopenRun(ctx, runID); err != nil {
			return 0, err
		}
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, t := range tasks {
		key := DedupeKey(run.CampaignID, t.Repository, int(run.SpecVersionID), "retry", stamp)
		if err := c.cfg.Store.RekeyTask(ctx, t.ID, key, c.currentBase(ctx, run.InstallationID, t)); err != nil {
			return 0, err
		}
		if run.State == store.RunPaused {
			continue // Resume enqueues them
		}
		if _, err := c.cfg.Queue.EnqueueExecute(ctx, t.ID.String(), key); err != nil {
			return len(tasks), fmt.Errorf("enqueue retried tasks of run %d: %w", runID, err)
		}
	}
	zerolog.Ctx(ctx).Info().Int64("run_id", runID).Str("actor", actor).Int("tasks", len(tasks)).Msg("failed tasks retried")
	return len(tasks), c.update(ctx, runID)
}

// currentBase reads the head of a retried task's base branch: the cause
// of a failure is often fixed in the repository, and a retry on the old
// commit would fail the same way. "" (keep the old commit) when there is
// no reader or GitHub does not answer; the retry still runs.
func (c *Control) currentBase(ctx context.Context, installationID int64, t store.RepoTask) string {
	if c.cfg.Heads == nil || t.BaseBranch == "" {
		return ""
	}
	head, err := c.cfg.Heads.BranchHead(ctx, installationID, t.Repository, t.BaseBranch)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("repository", t.Repository).Msg("could not read the base branch's head; retrying on the commit the task ran on")
		return ""
	}
	return head
}

// CancelResult says what Cancel did.
type CancelResult struct {
	Cancelled bool // false: the run had ended already
	Closing   int  // open pull requests being closed (asynchronously, throttled)
}

// Cancel ends a run: unfinished tasks are cancelled and every open
// campaign pull request is closed with a comment saying why.
func (c *Control) Cancel(ctx context.Context, runID int64, actor, reason string) (CancelResult, error) {
	why := "cancelled by @" + actor
	if reason != "" {
		why += ": " + reason
	}
	ok, open, err := c.cfg.Store.CancelRun(ctx, runID, why)
	if err != nil || !ok {
		return CancelResult{}, err
	}
	v, err := c.cfg.Store.LoadRunView(ctx, runID)
	if err != nil {
		return CancelResult{Cancelled: true}, err
	}
	comment := fmt.Sprintf("The campaign **%s** was cancelled (%s), so this pull request is closed. Nothing else will be pushed to it.", v.CampaignName, why)
	for _, t := range open {
		if _, err := c.cfg.Close.EnqueueClose(ctx, t.ID, comment, store.TaskClosed); err != nil {
			return CancelResult{Cancelled: true, Closing: len(open)}, fmt.Errorf("enqueue closing the pull requests of run %d: %w", runID, err)
		}
	}
	zerolog.Ctx(ctx).Info().Int64("run_id", runID).Str("actor", actor).Int("closing", len(open)).Msg("run cancelled")
	return CancelResult{Cancelled: true, Closing: len(open)}, c.update(ctx, runID)
}

// frozenFlag is the kill switch's database value.
type frozenFlag struct {
	Frozen bool   `json:"frozen"`
	Reason string `json:"reason"`
}

const frozenKey = "publishing_frozen"

// Freeze stops all publishing, for every campaign, within one task
// boundary (the database kill switch).
func (c *Control) Freeze(ctx context.Context, actor, reason string) error {
	why := "frozen by @" + actor
	if reason != "" {
		why += ": " + reason
	}
	if err := c.cfg.Store.PutSetting(ctx, frozenKey, frozenFlag{Frozen: true, Reason: why}, actor); err != nil {
		return err
	}
	c.forget()
	zerolog.Ctx(ctx).Warn().Str("actor", actor).Msg("publishing frozen")
	return nil
}

// Unfreeze lets publishing continue where it stopped.
func (c *Control) Unfreeze(ctx context.Context, actor string) error {
	if err := c.cfg.Store.PutSetting(ctx, frozenKey, frozenFlag{}, actor); err != nil {
		return err
	}
	c.forget()
	zerolog.Ctx(ctx).Warn().Str("actor", actor).Msg("publishing unfrozen")
	return nil
}

// FrozenTTL bounds how stale a worker's view of the database kill switch
// may be: one read per second per worker at most.
const FrozenTTL = time.Second

// Frozen reports whether publishing is stopped, by configuration
// (PUBLISHER_KILL_SWITCH) or by /campaign freeze, and why.
func (c *Control) Frozen(ctx context.Context) (bool, string) {
	if c.cfg.KillSwitch {
		return true, "PUBLISHER_KILL_SWITCH is set"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.frozenAt) < FrozenTTL {
		return c.frozen.Frozen, c.frozen.Reason
	}
	var f frozenFlag
	if _, _, _, err := c.cfg.Store.Setting(ctx, frozenKey, &f); err != nil {
		// Unknown means stopped: publishing on a guess is worse than waiting.
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not read the kill switch; treating publishing as frozen")
		return true, "the kill switch could not be read"
	}
	c.frozen, c.frozenAt = f, time.Now()
	return f.Frozen, f.Reason
}

func (c *Control) forget() {
	c.mu.Lock()
	c.frozenAt = time.Time{}
	c.mu.Unlock()
}

// StartAwaiting starts a run that waited in awaiting_approval because its
// content had not been approved when it merged, once it has the approvals
// it needs.
func (c *Control) StartAwaiting(ctx context.Context, runID int64, actor string) (store.Run, error) {
	v, err := c.cfg.Store.LoadRunView(ctx, runID)
	if err != nil {
		return store.Run{}, err
	}
	if v.Run.State != store.RunAwaitingApproval {
		return v.Run, fmt.Errorf("start run %d (%s): %w", runID, v.Run.State, ErrWrongState)
	}
	ver, err := c.cfg.Store.SpecVersionByID(ctx, v.Run.SpecVersionID)
	if err != nil {
		return v.Run, err
	}
	approvers, err := c.cfg.Store.Approvers(ctx, v.ControlRepo, v.CampaignName, ver.ContentHash)
	if err != nil {
		return v.Run, err
	}
	if len(approvers) < c.cfg.RequiredApprovals {
		return v.Run, fmt.Errorf("%w: %d of %d approvals", ErrNotApproved, len(approvers), c.cfg.RequiredApprovals)
	}
	s, diags := spec.Parse("spec.yaml", []byte(ver.YAML))
	if s == nil || diags.HasErrors() {
		return v.Run, fmt.Errorf("spec version %d of %s no longer validates: %v", ver.Version, v.CampaignName, diags.Err())
	}
	run, _, err := c.cfg.Starter.Activate(ctx, v.Run, StartInput{CampaignID: v.Run.CampaignID, Version: ver, Spec: s,
		InstallationID: v.Run.InstallationID, ControlSHA: v.Run.ControlSHA})
	if err == nil {
		zerolog.Ctx(ctx).Info().Int64("run_id", runID).Str("actor", actor).Msg("approved run started")
	}
	return run, err
}

// Skip closes a task's pull request with a comment, marks it skipped and
// excludes its repository from later versions of the campaign.
func (c *Control) Skip(ctx context.Context, taskID uuid.UUID, actor, reason string) error {
	t, tc, err := c.task(ctx, taskID)
	if err != nil {
		return err
	}
	why := "skipped by @" + actor
	if reason != "" {
		why += ": " + reason
	}
	if err := c.cfg.Store.Exclude(ctx, tc.Run.CampaignID, t.Repository, actor, why); err != nil {
		return err
	}
	if t.PRNumber != 0 && t.State != store.TaskMerged && t.State != store.TaskClosed {
		comment := fmt.Sprintf("@%s asked the campaign **%s** to leave this repository alone, so this pull request is closed and later versions of the campaign will not target %s.", actor, tc.CampaignName, t.Repository)
		if _, err := c.cfg.Close.EnqueueClose(ctx, taskID, comment, store.TaskSkipped); err != nil {
			return fmt.Errorf("enqueue closing %s#%d: %w", t.Repository, t.PRNumber, err)
		}
	} else if _, err := c.cfg.Store.SetTaskState(ctx, taskID, nonFinal, store.TaskSkipped, why); err != nil {
		return err
	}
	return c.settle(ctx, t.RunID)
}

// nonFinal are the task states a person's skip may end.
var nonFinal = []string{store.TaskPending, store.TaskQueued, store.TaskRunning, store.TaskPatchReady, store.TaskPublishing, "published", store.TaskNoChanges, store.TaskFailed}

// Rebase executes a task's steps again on the current head of its base
// branch now; the pull request gets the new change. It clears a snooze:
// the maintainer asked for this update.
func (c *Control) Rebase(ctx context.Context, taskID uuid.UUID, actor string) error {
	t, tc, err := c.task(ctx, taskID)
	if err != nil {
		return err
	}
	if t.PRNumber == 0 {
		return fmt.Errorf("rebase %s: %w", t.Repository, ErrNoPullRequest)
	}
	if tc.Run.State != store.RunRunning && tc.Run.State != store.RunCompleted {
		return fmt.Errorf("rebase %s: the run is %s: %w", t.Repository, tc.Run.State, ErrWrongState)
	}
	head, err := c.cfg.Heads.BranchHead(ctx, tc.Run.InstallationID, t.Repository, t.BaseBranch)
	if err != nil {
		return fmt.Errorf("read the head of %s@%s: %w", t.Repository, t.BaseBranch, err)
	}
	if err := c.cfg.Store.SnoozeTask(ctx, taskID, time.Time{}); err != nil {
		return err
	}
	key := DedupeKey(tc.Run.CampaignID, t.Repository, tc.SpecVersion, "rebase", head+":"+strconv.FormatInt(time.Now().UnixNano(), 36))
	nt, ok, err := c.cfg.Store.RequeueForRebase(ctx, taskID, head, key)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("rebase %s (task %s): %w", t.Repository, nt.State, ErrWrongState)
	}
	if tc.Run.State == store.RunCompleted {
		if err := c.cfg.Store.ReopenRun(ctx, t.RunID); err != nil {
			return err
		}
	}
	if _, err := c.cfg.Queue.EnqueueExecute(ctx, taskID.String(), key); err != nil {
		return fmt.Errorf("enqueue the rebase of %s: %w", t.Repository, err)
	}
	zerolog.Ctx(ctx).Info().Str("repository", t.Repository).Str("actor", actor).Str("base_sha", head).Msg("rebase requested")
	return c.update(ctx, t.RunID)
}

// Snooze holds every update to a task's pull request until until.
func (c *Control) Snooze(ctx context.Context, taskID uuid.UUID, actor string, until time.Time) error {
	t, err := c.cfg.Store.GetRepoTask(ctx, taskID)
	if err != nil {
		return err
	}
	if t.PRNumber == 0 {
		return fmt.Errorf("snooze %s: %w", t.Repository, ErrNoPullRequest)
	}
	if err := c.cfg.Store.SnoozeTask(ctx, taskID, until); err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("repository", t.Repository).Str("actor", actor).Time("until", until).Msg("pull request snoozed")
	return c.update(ctx, t.RunID)
}

func (c *Control) task(ctx context.Context, id uuid.UUID) (store.RepoTask, store.TaskContext, error) {
	t, err := c.cfg.Store.GetRepoTask(ctx, id)
	if err != nil {
		return t, store.TaskContext{}, err
	}
	tc, err := c.cfg.Store.LoadTaskContext(ctx, t)
	return t, tc, err
}

func (c *Control) settle(ctx context.Context, runID int64) error {
	if c.cfg.Settle != nil {
		return c.cfg.Settle.Settle(ctx, runID)
	}
	return c.update(ctx, runID)
}

func (c *Control) update(ctx context.Context, runID int64) error {
	if c.cfg.Progress == nil {
		return nil
	}
	return c.cfg.Progress.RequestUpdate(ctx, runID)
}
