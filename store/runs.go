package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Run states (DESIGN.md §5).
const (
	RunPlanned          = "planned"
	RunAwaitingApproval = "awaiting_approval"
	RunRunning          = "running"
	RunPaused           = "paused"
	RunCompleted        = "completed"
	RunCancelled        = "cancelled"
	RunFailed           = "failed"
)

// Repo task states (DESIGN.md §5).
const (
	TaskPending    = "pending"
	TaskQueued     = "queued"
	TaskRunning    = "running"
	TaskNoChanges  = "no_changes"
	TaskPatchReady = "patch_ready"
	TaskFailed     = "failed"
	TaskSkipped    = "skipped"
	TaskCancelled  = "cancelled"
	TaskMerged     = "merged"
	TaskClosed     = "closed"
)

// runActive is the SQL condition that a task's run lets work proceed:
// tasks of paused, cancelled or finished runs are not claimed, and their
// queue entries are dropped; Resume enqueues them again.
const runActive = `EXISTS (SELECT 1 FROM runs WHERE runs.id = repo_tasks.run_id AND runs.state = 'running')`

// Run is one execution of a spec version.
type Run struct {
	ID             int64
	CampaignID     int64
	SpecVersionID  int64
	State          string
	InstallationID int64
	ControlSHA     string
	CreatedAt      time.Time
}

// RepoTask is one target repository of a run.
type RepoTask struct {
	ID           uuid.UUID
	RunID        int64
	Repository   string
	RepositoryID int64
	State        string
	Attempts     int
	DedupeKey    string
	Wave         int
	BaseBranch   string
	BaseSHA      string
	PatchHash    string
	ResultKey    string
	PRNumber     int
	PRURL        string
	PRNodeID     string
	Branch       string
	HeadSHA      string
	Error        string
	LogTail      string
	LeaseUntil   *time.Time
	// SnoozedUntil: /campaign snooze on the PR; no updates to it until then.
	SnoozedUntil *time.Time
	UpdatedAt    time.Time
}

// NewTask is a target of a run about to start, with the base commit
// target selection saw (the change is made on it).
type NewTask struct {
	Repository   string
	RepositoryID int64
	DedupeKey    string
	Wave         int
	BaseBranch   string
	BaseSHA      string
}

// CreateRun writes a run and one queued repo task per target in one
// transaction. A run for the same spec version that exists already is
// returned as it is (created false), so a repeated start adds nothing.
func (s *Store) CreateRun(ctx context.Context, r Run, tasks []NewTask) (Run, []RepoTask, bool, error) {
	var out []RepoTask
	created := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
INSERT INTO runs (campaign_id, spec_version_id, state, installation_id, control_sha, started_at)
VALUES ($1, $2, $3, $4, $5, now())
ON CONFLICT (spec_version_id) DO NOTHING
RETURNING id, created_at`, r.CampaignID, r.SpecVersionID, r.State, r.InstallationID, r.ControlSHA).Scan(&r.ID, &r.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			if err := tx.QueryRow(ctx, `SELECT id, state, created_at FROM runs WHERE spec_version_id = $1`, r.SpecVersionID).
				Scan(&r.ID, &r.State, &r.CreatedAt); err != nil {
				return fmt.Errorf("read existing run of spec version %d: %w", r.SpecVersionID, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("create run of spec version %d: %w", r.SpecVersionID, err)
		}
		created = true
		out, err = insertTasks(ctx, tx, r.ID, tasks)
		return err
	})
	if err != nil {
		return r, nil, false, err
	}
	if !created {
		out, err = s.RunTasks(ctx, r.ID)
	}
	return r, out, created, err
}

// insertTasks writes a run's repo tasks with COPY: wave 0 queued, later
// waves pending until AdvanceWave releases them.
func insertTasks(ctx context.Context, tx pgx.Tx, runID int64, tasks []NewTask) ([]RepoTask, error) {
	out := make([]RepoTask, 0, len(tasks))
	rows := make([][]any, len(tasks))
	for i, t := range tasks {
		id := uuid.New()
		var repoID *int64
		if t.RepositoryID != 0 {
			repoID = &t.RepositoryID
		}
		state := TaskQueued
		if t.Wave > 0 {
			state = TaskPending
		}
		rows[i] = []any{id, runID, t.Repository, repoID, state, t.DedupeKey, t.Wave, t.BaseBranch, t.BaseSHA}
		out = append(out, RepoTask{ID: id, RunID: runID, Repository: t.Repository, RepositoryID: t.RepositoryID, State: state,
			DedupeKey: t.DedupeKey, Wave: t.Wave, BaseBranch: t.BaseBranch, BaseSHA: t.BaseSHA})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"repo_tasks"},
		[]string{"id", "run_id", "repository", "repository_id", "state", "dedupe_key", "wave", "base_branch", "base_sha"}, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("create %d repo tasks of run %d: %w", len(tasks), runID, err)
	}
	return out, nil
}

const repoTaskCols = `id, run_id, repository, COALESCE(repository_id, 0), state, attempts, dedupe_key, wave,
COALESCE(base_branch, ''), COALESCE(base_sha, ''), COALESCE(patch_hash, ''), COALESCE(result_key, ''),
COALESCE(pr_number, 0), COALESCE(pr_url, ''), COALESCE(pr_node_id, ''), COALESCE(branch, ''), COALESCE(head_sha, ''), COALESCE(error, ''), COALESCE(log_tail, ''), lease_until, snoozed_until, updated_at`

func scanRepoTask(r pgx.Row) (RepoTask, error) {
	var t RepoTask
	err := r.Scan(t.dests()...)
	return t, err
}

// dests are the scan destinations of repoTaskCols, in order.
func (t *RepoTask) dests() []any {
	return []any{&t.ID, &t.RunID, &t.Repository, &t.RepositoryID, &t.State, &t.Attempts, &t.DedupeKey, &t.Wave,
		&t.BaseBranch, &t.BaseSHA, &t.PatchHash, &t.ResultKey, &t.PRNumber, &t.PRURL, &t.PRNodeID, &t.Branch, &t.HeadSHA, &t.Error, &t.LogTail, &t.LeaseUntil, &t.SnoozedUntil, &t.UpdatedAt}
}

// RunTasks lists a run's repo tasks by repository.
func (s *Store) RunTasks(ctx context.Context, runID int64) ([]RepoTask, error) {
	return queryRows(ctx, s.pool, fmt.Sprintf("list tasks of run %d", runID), scanRepoTask, `SELECT `+repoTaskCols+` FROM repo_tasks WHERE run_id = $1 ORDER BY repository`, runID)
}

// GetRepoTask reads one repo task.
func (s *Store) GetRepoTask(ctx context.Context, id uuid.UUID) (RepoTask, error) {
	t, err := scanRepoTask(s.pool.QueryRow(ctx, `SELECT `+repoTaskCols+` FROM repo_tasks WHERE id = $1`, id))
	if err != nil {
		return t, fmt.Errorf("read repo task %s: %w", id, err)
	}
	return t, nil
}

// Claim outcomes.
var (
	// ErrTaskLeased: another worker holds the task's lease; try again after it.
	ErrTaskLeased = errors.New("repo task is leased by another worker")
)

// ClaimRepoTask moves a queued task (or a running one whose lease has
// expired: its worker died) to running under a new lease. ok is false
// when the task is finished, failed or skipped: nothing to do.
func (s *Store) ClaimRepoTask(ctx context.Context, id uuid.UUID, lease time.Duration) (RepoTask, bool, error) {
	t, err := scanRepoTask(s.pool.QueryRow(ctx, `
UPDATE repo_tasks SET state = 'running', attempts = attempts + 1, lease_until = now() + make_interval(secs => $2), updated_at = now()
WHERE id = $1 AND (state = 'queued' OR (state = 'running' AND lease_until < now())) AND `+runActive+`
RETURNING `+repoTaskCols, id, lease.Seconds()))
	if err == nil {
		return t, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return t, false, fmt.Errorf("claim repo task %s: %w", id, err)
	}
	cur, err := s.GetRepoTask(ctx, id)
	if err != nil {
		return cur, false, err
	}
	if cur.State == TaskRunning {
		return cur, false, ErrTaskLeased
	}
	return cur, false, nil
}

// ExtendLease keeps a running task's lease alive; false means it was lost.
func (s *Store) ExtendLease(ctx context.Context, id uuid.UUID, lease time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE repo_tasks SET lease_until = now() + make_interval(secs => $2) WHERE id = $1 AND state = 'running'`, id, lease.Seconds())
	if err != nil {
		return false, fmt.Errorf("extend lease of repo task %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// TaskOutcome is how an execution ended.
type TaskOutcome struct {
	State     string // no_changes | patch_ready | queued (retry) | failed
	BaseSHA   string
	PatchHash string
	ResultKey string
	Error     string
	LogTail   string
}

// FinishRepoTask records an execution's outcome on a running task.
func (s *Store) FinishRepoTask(ctx context.Context, id uuid.UUID, o TaskOutcome) error {
	_, err := s.pool.Exec(ctx, `
UPDATE repo_tasks SET state = $2, base_sha = COALESCE(NULLIF($3, ''), base_sha), patch_hash = NULLIF($4, ''), result_key = NULLIF($5, ''),
    error = NULLIF($6, ''), log_tail = NULLIF($7, ''), lease_until = NULL, updated_at = now()
WHERE id = $1 AND state = 'running'`, id, o.State, o.BaseSHA, o.PatchHash, o.ResultKey, o.Error, o.LogTail)
	if err != nil {
		return fmt.Errorf("record outcome of repo task %s: %w", id, err)
	}
	return nil
}

// RequeueFailedTasks puts failed tasks of a run (or the one named) back to
// queued with fresh attempts, for /campaign retry and DLQ replays.
func (s *Store) RequeueFailedTasks(ctx context.Context, runID int64, repository string) ([]RepoTask, error) {
	return queryRows(ctx, s.pool, fmt.Sprintf("requeue failed tasks of run %d", runID), scanRepoTask, `
UPDATE repo_tasks SET state = 'queued', attempts = 0, error = NULL, updated_at = now()
WHERE run_id = $1 AND state = 'failed' AND ($2 = '' OR repository = $2)
RETURNING `+repoTaskCols, runID, repository)
}

// InFlightTasks lists tasks that should be in the queue or running but
// have not moved for olderThan: queued ones, and running ones whose lease
// expired. The sweeper enqueues them again.
func (s *Store) InFlightTasks(ctx context.Context, olderThan time.Time, limit int) ([]RepoTask, error) {
	return queryRows(ctx, s.pool, "list in-flight tasks", scanRepoTask, `SELECT `+repoTaskCols+` FROM repo_tasks
WHERE state IN ('queued', 'running') AND updated_at < $1 AND (state = 'queued' OR lease_until < now()) AND `+runActive+`
ORDER BY updated_at LIMIT $2`, olderThan, limit)
}

// TaskContext is what executing a task needs besides the task itself.
type TaskContext struct {
	Task         RepoTask
	Run          Run
	CampaignName string
	SpecVersion  int
	SpecYAML     string
}

// LoadTaskContext reads a task with its run and spec version.
func (s *Store) LoadTaskContext(ctx context.Context, t RepoTask) (TaskContext, error) {
	tc := TaskContext{Task: t}
	err := s.pool.QueryRow(ctx, `
SELECT r.id, r.campaign_id, r.spec_version_id, r.state, COALESCE(r.installation_id, 0), r.control_sha, r.created_at,
       c.name, v.version, v.yaml
FROM runs r JOIN campaigns c ON c.id = r.campaign_id JOIN spec_versions v ON v.id = r.spec_version_id
WHERE r.id = $1`, t.RunID).Scan(&tc.Run.ID, &tc.Run.CampaignID, &tc.Run.SpecVersionID, &tc.Run.State, &tc.Run.InstallationID,
		&tc.Run.ControlSHA, &tc.Run.CreatedAt, &tc.CampaignName, &tc.SpecVersion, &tc.SpecYAML)
	if err != nil {
		return tc, fmt.Errorf("load run %d of repo task %s: %w", t.RunID, t.ID, err)
	}
	return tc, nil
}

// Publishing states.
const (
	TaskPublishing = "publishing"
	TaskPublished  = "published"
)

// ClaimPublish moves a patch_ready task (or one stuck publishing past its
// lease) to publishing; ok is false when there is nothing to publish.
func (s *Store) ClaimPublish(ctx context.Context, id uuid.UUID, lease time.Duration) (RepoTask, bool, error) {
	t, err := scanRepoTask(s.pool.QueryRow(ctx, `
UPDATE repo_tasks SET state = 'publishing', lease_until = now() + make_interval(secs => $2), updated_at = now()
WHERE id = $1 AND (state = 'patch_ready' OR (state = 'publishing' AND lease_until < now())) AND `+runActive+`
RETURNING `+repoTaskCols, id, lease.Seconds()))
	if errors.Is(err, pgx.ErrNoRows) {
		cur, err := s.GetRepoTask(ctx, id)
		if err == nil && cur.State == TaskPublishing {
			return cur, false, ErrTaskLeased
		}
		return cur, false, err
	}
	if err != nil {
		return t, false, fmt.Errorf("claim publish of repo task %s: %w", id, err)
	}
	return t, true, nil
}

// PublishOutcome is how a publish ended.
type PublishOutcome struct {
	State    string // published | patch_ready (retry later) | failed
	Branch   string
	PRNumber int
	PRURL    string
	PRNodeID string
	HeadSHA  string
	Error    string
}

// FinishPublish records a publish's outcome on a publishing task.
func (s *Store) FinishPublish(ctx context.Context, id uuid.UUID, o PublishOutcome) error {
	_, err := s.pool.Exec(ctx, `
UPDATE repo_tasks SET state = $2, branch = COALESCE(NULLIF($3, ''), branch), pr_number = COALESCE(NULLIF($4, 0), pr_number),
    pr_url = COALESCE(NULLIF($5, ''), pr_url), pr_node_id = COALESCE(NULLIF($6, ''), pr_node_id),
    head_sha = COALESCE(NULLIF($7, ''), head_sha), last_pushed_sha = COALESCE(NULLIF($7, ''), last_pushed_sha),
    error = NULLIF($8, ''), lease_until = NULL, updated_at = now()
WHERE id = $1 AND state = 'publishing'`, id, o.State, o.Branch, o.PRNumber, o.PRURL, o.PRNodeID, o.HeadSHA, o.Error)
	if err != nil {
		return fmt.Errorf("record publish of repo task %s: %w", id, err)
	}
	return nil
}

// StalePublishTasks lists patch_ready tasks idle since olderThan and
// publishing tasks whose lease expired: their publish task may be lost.
func (s *Store) StalePublishTasks(ctx context.Context, olderThan time.Time, limit int) ([]RepoTask, error) {
	return queryRows(ctx, s.pool, "list stale publish tasks", scanRepoTask, `SELECT `+repoTaskCols+` FROM repo_tasks
WHERE ((state = 'patch_ready' AND updated_at < $1) OR (state = 'publishing' AND lease_until < now())) AND `+runActive+`
ORDER BY updated_at LIMIT $2`, olderThan, limit)
}
