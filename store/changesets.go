package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Changeset is a repo task with a pull request, as the reconciler tracks
// it: the task, its run's installation and campaign, and what GitHub last
// said about the pull request.
type Changeset struct {
	Task           RepoTask
	InstallationID int64
	CampaignID     int64
	RunState       string
	LastPushedSHA  string
	// PRState is open | draft | merged | closed ("" before the first look).
	PRState         string
	ReviewDecision  string // approved | changes_requested | review_required | ""
	CIState         string // pending | passing | failing | "" (no checks)
	Mergeable       string // mergeable | conflicting | unknown | ""
	PRUpdatedAt     *time.Time
	PRCheckedAt     *time.Time // when GitHub's state was last applied
	ClosedBy        string
	BranchDeleted   bool
	BaseHeadSHA     string
	BaseMovedAt     *time.Time
	DriftHandledSHA string
	RebaseCount     int
	HumanEditedSHA  string
	HumanNoticed    bool
	Landed          *bool
	VerifyNote      string
}

// Changeset CI states.
const (
	CIPending = "pending"
	CIPassing = "passing"
	CIFailing = "failing"
)

const changesetCols = repoTaskCols + `, COALESCE(last_pushed_sha, ''),
COALESCE(pr_state, ''), COALESCE(review_decision, ''), COALESCE(ci_state, ''), COALESCE(mergeable, ''), pr_updated_at, pr_checked_at,
COALESCE(closed_by, ''), branch_deleted, COALESCE(base_head_sha, ''), base_moved_at, COALESCE(drift_handled_sha, ''), rebase_count,
COALESCE(human_edited_sha, ''), human_noticed_at IS NOT NULL, landed, COALESCE(verify_note, ''),
(SELECT COALESCE(r.installation_id, 0) FROM runs r WHERE r.id = repo_tasks.run_id),
(SELECT r.campaign_id FROM runs r WHERE r.id = repo_tasks.run_id),
(SELECT r.state FROM runs r WHERE r.id = repo_tasks.run_id)`

func scanChangeset(r pgx.Row) (Changeset, error) {
	var c Changeset
	err := r.Scan(append(c.Task.dests(),
		&c.LastPushedSHA, &c.PRState, &c.ReviewDecision, &c.CIState, &c.Mergeable, &c.PRUpdatedAt, &c.PRCheckedAt,
		&c.ClosedBy, &c.BranchDeleted, &c.BaseHeadSHA, &c.BaseMovedAt, &c.DriftHandledSHA, &c.RebaseCount,
		&c.HumanEditedSHA, &c.HumanNoticed, &c.Landed, &c.VerifyNote,
		&c.InstallationID, &c.CampaignID, &c.RunState)...)
	return c, err
}

func (s *Store) changesets(ctx context.Context, what, where string, args ...any) ([]Changeset, error) {
	return queryRows(ctx, s.pool, fmt.Sprintf("list changesets %s", what), scanChangeset, `SELECT `+changesetCols+` FROM repo_tasks WHERE `+where, args...)
}

// Changeset reads one repo task as a changeset.
func (s *Store) Changeset(ctx context.Context, id uuid.UUID) (Changeset, error) {
	c, err := scanChangeset(s.pool.QueryRow(ctx, `SELECT `+changesetCols+` FROM repo_tasks WHERE id = $1`, id))
	if err != nil {
		return c, fmt.Errorf("read changeset %s: %w", id, err)
	}
	return c, nil
}

// ChangesetsByPR lists the tasks that carry pull request number of repo
// (several runs of a campaign share one pull request: later spec versions
// update it in place).
func (s *Store) ChangesetsByPR(ctx context.Context, repo string, number int) ([]Changeset, error) {
	return s.changesets(ctx, fmt.Sprintf("of %s#%d", repo, number),
		`lower(repository) = lower($1) AND pr_number = $2 ORDER BY run_id`, repo, number)
}

// ChangesetsByHead lists the changesets of repo whose pull request head is sha.
func (s *Store) ChangesetsByHead(ctx context.Context, repo, sha string) ([]Changeset, error) {
	return s.changesets(ctx, fmt.Sprintf("of %s at %s", repo, sha),
		`lower(repository) = lower($1) AND pr_number IS NOT NULL AND head_sha = $2 ORDER BY run_id`, repo, sha)
}

// trackedStates are the task states whose pull request may still change:
// open, or being re-executed or re-published.
const trackedStates = `('published', 'queued', 'running', 'patch_ready', 'publishing')`

// OpenChangesets lists every changeset whose pull request is open (or
// being updated), least recently checked first: what the sweep refreshes.
func (s *Store) OpenChangesets(ctx context.Context) ([]Changeset, error) {
	return s.changesets(ctx, "with open pull requests",
		`pr_node_id IS NOT NULL AND state IN `+trackedStates+` ORDER BY pr_checked_at NULLS FIRST, id`)
}

// RunChangesets lists every task of a run as a changeset.
func (s *Store) RunChangesets(ctx context.Context, runID int64) ([]Changeset, error) {
	return s.changesets(ctx, fmt.Sprintf("of run %d", runID), `run_id = $1 ORDER BY repository`, runID)
}

// PRUpdate is what GitHub says about a campaign pull request. Nil
// pointers and empty strings keep what is stored.
type PRUpdate struct {
	State          string // open | draft | merged | closed
	HeadSHA        string
	ReviewDecision *string
	CIState        *string
	Mergeable      *string
	ClosedBy       string
	BranchDeleted  *bool
	// UpdatedAt is GitHub's updatedAt of the pull request: an update older
	// than the one applied last is ignored (webhooks arrive out of order).
	UpdatedAt time.Time
}

// PRApplied says what ApplyPRUpdate changed.
type PRApplied struct {
	Applied  bool   // false: older than what is stored
	OldState string // task state before
	NewState string // task state after
	Changed  bool   // anything the dashboard shows changed
}

// ApplyPRUpdate records GitHub's view of a task's pull request and moves
// the task: merged (final, never undone), closed, or back to published
// when a closed pull request was reopened.
func (s *Store) ApplyPRUpdate(ctx context.Context, id uuid.UUID, u PRUpdate) (PRApplied, error) {
	var a PRApplied
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = time.Now()
	}
	err := s.pool.QueryRow(ctx, `
WITH old AS (
    SELECT id, state, pr_state, review_decision, ci_state, mergeable, head_sha, branch_deleted
    FROM repo_tasks WHERE id = $1 FOR UPDATE
), upd AS (
    UPDATE repo_tasks t SET
        state = CASE
            WHEN t.state = 'merged' THEN t.state
            WHEN $2 = 'merged' THEN 'merged'
            WHEN $2 = 'closed' AND t.state IN ('published', 'publishing', 'patch_ready', 'queued', 'running', 'failed') THEN 'closed'
            WHEN $2 IN ('open', 'draft') AND t.state = 'closed' THEN 'published'
            ELSE t.state END,
        pr_state = CASE WHEN t.state = 'merged' THEN 'merged' ELSE $2 END,
        ci_state = COALESCE($5, CASE WHEN $3 <> '' AND $3 IS DISTINCT FROM t.head_sha THEN 'pending' ELSE t.ci_state END),
        head_sha = COALESCE(NULLIF($3, ''), t.head_sha),
        review_decision = COALESCE($4, t.review_decision),
        mergeable = COALESCE($6, t.mergeable),
        closed_by = CASE WHEN $2 IN ('merged', 'closed') AND $7 <> '' THEN $7 ELSE t.closed_by END,
        branch_deleted = COALESCE($8, t.branch_deleted),
        pr_updated_at = GREATEST(t.pr_updated_at, $9),
        pr_checked_at = now(),
        lease_until = CASE WHEN $2 IN ('merged', 'closed') AND t.state IN ('queued', 'running', 'publishing') THEN NULL ELSE t.lease_until END
    FROM old WHERE t.id = old.id AND (t.pr_updated_at IS NULL OR t.pr_updated_at <= $9)
    RETURNING t.id, old.state AS old_state, t.state AS new_state,
        (old.state IS DISTINCT FROM t.state OR old.pr_state IS DISTINCT FROM t.pr_state OR old.review_decision IS DISTINCT FROM t.review_decision
         OR old.ci_state IS DISTINCT FROM t.ci_state OR old.mergeable IS DISTINCT FROM t.mergeable OR old.head_sha IS DISTINCT FROM t.head_sha
         OR old.branch_deleted IS DISTINCT FROM t.branch_deleted) AS changed
)
SELECT old_state, new_state, changed FROM upd`,
		id, u.State, u.HeadSHA, u.ReviewDecision, u.CIState, u.Mergeable, u.ClosedBy, u.BranchDeleted, u.UpdatedAt,
	).Scan(&a.OldState, &a.NewState, &a.Changed)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, nil
	}
	if err != nil {
		return a, fmt.Errorf("record pull request state of repo task %s: %w", id, err)
	}
	a.Applied = true
	if a.OldState != a.NewState {
		if _, err := s.pool.Exec(ctx, `UPDATE repo_tasks SET updated_at = now() WHERE id = $1`, id); err != nil {
			return a, fmt.Errorf("touch repo task %s: %w", id, err)
		}
	}
	return a, nil
}

// MarkHumanEdit records that the pull request's head is a commit the app
// did not push; first is true only for the first call (the one that
// says so on the pull request). The check against the last pushed commit
// is made here, in one statement, so a publish finishing meanwhile is
// never mistaken for a person.
func (s *Store) MarkHumanEdit(ctx context.Context, id uuid.UUID, sha string) (first bool, err error) {
	tag, err := s.pool.Exec(ctx, `UPDATE repo_tasks SET human_edited_sha = $2, human_noticed_at = now(), updated_at = now()
WHERE id = $1 AND human_edited_sha IS NULL AND state = 'published' AND last_pushed_sha IS DISTINCT FROM $2`, id, sha)
	if err != nil {
		return false, fmt.Errorf("record human edit of repo task %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RecordBaseMove notes that repo's branch now points at sha and returns
// the changesets with an open pull request based on it whose record moved
// (a replayed or repeated push returns none).
func (s *Store) RecordBaseMove(ctx context.Context, repo, branch, sha string) ([]Changeset, error) {
	rows, err := s.pool.Query(ctx, `UPDATE repo_tasks SET base_head_sha = $3, base_moved_at = now()
WHERE lower(repository) = lower($1) AND base_branch = $2 AND pr_number IS NOT NULL AND state IN `+trackedStates+`
    AND base_head_sha IS DISTINCT FROM $3
RETURNING id`, repo, branch, sha)
	if err != nil {
		return nil, fmt.Errorf("record the move of %s@%s: %w", repo, branch, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(ids) == 0 {
		if err != nil {
			err = fmt.Errorf("record the move of %s@%s: %w", repo, branch, err)
		}
		return nil, err
	}
	return s.changesets(ctx, fmt.Sprintf("on %s@%s", repo, branch), `id = ANY($1) ORDER BY run_id`, ids)
}

// ClaimDrift records that the drift policy was applied for base head sha
// (counting a re-execution when rebase is true); false means it already
// was (at most one decision per base change).
func (s *Store) ClaimDrift(ctx context.Context, id uuid.UUID, sha string, rebase bool) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE repo_tasks SET drift_handled_sha = $2, rebase_count = rebase_count + CASE WHEN $3 THEN 1 ELSE 0 END
WHERE id = $1 AND drift_handled_sha IS DISTINCT FROM $2`, id, sha, rebase)
	if err != nil {
		return false, fmt.Errorf("claim drift of repo task %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RequeueForOverwrite moves a published task whose change is still stored
// back to patch_ready, so the publisher writes it over a person's commit
// (humanEdits: overwrite).
func (s *Store) RequeueForOverwrite(ctx context.Context, id uuid.UUID) (RepoTask, bool, error) {
	t, err := scanRepoTask(s.pool.QueryRow(ctx, `
UPDATE repo_tasks SET state = 'patch_ready', updated_at = now()
WHERE id = $1 AND state = 'published' AND result_key IS NOT NULL
RETURNING `+repoTaskCols, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("requeue repo task %s to overwrite: %w", id, err)
	}
	return t, true, nil
}

// Tracking is what the dashboard shows of a task's pull request.
type Tracking struct {
	PRState        string
	CIState        string
	ReviewDecision string
	ClosedBy       string
	HumanEdited    bool
	Behind         bool
	Landed         *bool
	VerifyNote     string
}

// loadTracking fills a run view's tracking and verification fields.
func (s *Store) loadTracking(ctx context.Context, v *RunView) error {
	rows, err := s.pool.Query(ctx, `SELECT id, COALESCE(pr_state, ''), COALESCE(ci_state, ''), COALESCE(review_decision, ''),
    COALESCE(closed_by, ''), human_edited_sha IS NOT NULL, COALESCE(base_head_sha <> base_sha, false), landed, COALESCE(verify_note, '')
FROM repo_tasks WHERE run_id = $1 AND (pr_number IS NOT NULL OR landed IS NOT NULL)`, v.Run.ID)
	if err != nil {
		return fmt.Errorf("read pull request states of run %d: %w", v.Run.ID, err)
	}
	v.Tracking = map[uuid.UUID]Tracking{}
	for rows.Next() {
		var id uuid.UUID
		var t Tracking
		if err := rows.Scan(&id, &t.PRState, &t.CIState, &t.ReviewDecision, &t.ClosedBy, &t.HumanEdited, &t.Behind, &t.Landed, &t.VerifyNote); err != nil {
			rows.Close()
			return fmt.Errorf("read pull request states of run %d: %w", v.Run.ID, err)
		}
		v.Tracking[id] = t
		if t.Landed != nil && *t.Landed {
			v.Landed++
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read pull request states of run %d: %w", v.Run.ID, err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT verified_at FROM runs WHERE id = $1`, v.Run.ID).Scan(&v.VerifiedAt); err != nil {
		return fmt.Errorf("read verification of run %d: %w", v.Run.ID, err)
	}
	return nil
}

// finalTaskStates end a task for good: verification starts when every
// task of a run is in one of them.
const finalTaskStates = `('merged', 'closed', 'no_changes', 'failed', 'skipped', 'cancelled', 'superseded')`

// StartVerification marks a run's verification started when every task
// is final; ok is false when some task is not final yet or verification
// started already (it starts once).
func (s *Store) StartVerification(ctx context.Context, runID int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE runs SET verify_started_at = now() WHERE id = $1 AND verify_started_at IS NULL
AND EXISTS (SELECT 1 FROM repo_tasks WHERE run_id = $1)
AND NOT EXISTS (SELECT 1 FROM repo_tasks WHERE run_id = $1 AND state NOT IN `+finalTaskStates+`)`, runID)
	if err != nil {
		return false, fmt.Errorf("start verification of run %d: %w", runID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// PrepareVerification settles the tasks whose outcome needs no execution
// (no_changes: landed; failed, skipped, cancelled, superseded: not
// landed) and returns those with a pull request, which are verified by
// running the steps on their default branch.
func (s *Store) PrepareVerification(ctx context.Context, runID int64) ([]RepoTask, error) {
	if _, err := s.pool.Exec(ctx, `UPDATE repo_tasks SET
    landed = (state = 'no_changes'),
    verify_note = CASE WHEN state = 'no_changes' THEN 'no changes were needed' ELSE 'task ' || state END,
    verified_at = now()
WHERE run_id = $1 AND landed IS NULL AND state NOT IN ('merged', 'closed')`, runID); err != nil {
		return nil, fmt.Errorf("prepare verification of run %d: %w", runID, err)
	}
	return queryRows(ctx, s.pool, fmt.Sprintf("list tasks to verify of run %d", runID), scanRepoTask, `SELECT `+repoTaskCols+` FROM repo_tasks WHERE run_id = $1 AND landed IS NULL ORDER BY repository`, runID)
}

// RecordVerification records whether a task's change is in its default
// branch, and finishes the run's verification when it was the last; done
// is true for that call only.
func (s *Store) RecordVerification(ctx context.Context, id uuid.UUID, landed bool, note string) (done bool, runID int64, err error) {
	err = s.pool.QueryRow(ctx, `UPDATE repo_tasks SET landed = $2, verify_note = $3, verified_at = now() WHERE id = $1 RETURNING run_id`,
		id, landed, note).Scan(&runID)
	if err != nil {
		return false, 0, fmt.Errorf("record verification of repo task %s: %w", id, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE runs SET verified_at = now() WHERE id = $1 AND verified_at IS NULL
AND NOT EXISTS (SELECT 1 FROM repo_tasks WHERE run_id = $1 AND landed IS NULL)`, runID)
	if err != nil {
		return false, runID, fmt.Errorf("finish verification of run %d: %w", runID, err)
	}
	return tag.RowsAffected() == 1, runID, nil
}

// FinishVerificationIfDone sets the run's verified_at when no task waits
// for verification (a run whose tasks all settled without execution).
func (s *Store) FinishVerificationIfDone(ctx context.Context, runID int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE runs SET verified_at = now() WHERE id = $1 AND verified_at IS NULL AND verify_started_at IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM repo_tasks WHERE run_id = $1 AND landed IS NULL)`, runID)
	if err != nil {
		return false, fmt.Errorf("finish verification of run %d: %w", runID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// WaveCIReady is the completion's wave gate: the wave after wave may start
// when every task of the waves so far is final (merged, closed, no
// changes, failed, skipped, cancelled) or has an open pull request whose
// CI passes — or that GitHub, when last read, showed no checks or statuses
// for at all (a repository without CI has nothing to wait for). It runs
// in the completion's transaction.
func WaveCIReady(ctx context.Context, tx pgx.Tx, runID int64, wave int) (bool, error) {
	var waiting bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM repo_tasks WHERE run_id = $1 AND wave <= $2
    AND state NOT IN ('merged', 'closed', 'no_changes', 'failed', 'skipped', 'cancelled', 'superseded')
    AND NOT (state = 'published' AND (ci_state = 'passing' OR (COALESCE(ci_state, '') = '' AND pr_checked_at IS NOT NULL))))`, runID, wave).Scan(&waiting)
	if err != nil {
		return false, fmt.Errorf("read the CI of wave %d of run %d: %w", wave, runID, err)
	}
	return !waiting, nil
}
