package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErrNotFound says the row asked for does not exist.
var ErrNotFound = errors.New("not found")

// FinalTaskStates are the states a task never leaves by itself: a run is
// complete when all its tasks are in one of them. A published pull request
// is not final: the campaign is done when it is merged or closed.
var FinalTaskStates = []string{TaskNoChanges, TaskFailed, TaskSkipped, TaskCancelled, TaskMerged, TaskClosed}

// finalStatesSQL is FinalTaskStates as an SQL list.
var finalStatesSQL = "('" + strings.Join(FinalTaskStates, "', '") + "')"

// waveDoneSQL is the condition for a task no longer holding its wave back:
// final, or its pull request is open (published). The reconciler's CI
// signal refines "published" through WaveGate.
const waveDoneSQL = `state IN ('no_changes', 'failed', 'skipped', 'cancelled', 'merged', 'closed', 'published')`

// GetRun reads one run.
func (s *Store) GetRun(ctx context.Context, runID int64) (Run, error) {
	var r Run
	err := s.pool.QueryRow(ctx, `SELECT id, campaign_id, spec_version_id, state, COALESCE(installation_id, 0), control_sha, created_at
FROM runs WHERE id = $1`, runID).Scan(&r.ID, &r.CampaignID, &r.SpecVersionID, &r.State, &r.InstallationID, &r.ControlSHA, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("run %d: %w", runID, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read run %d: %w", runID, err)
	}
	return r, nil
}

// LatestRun returns the campaign's newest run.
func (s *Store) LatestRun(ctx context.Context, campaignID int64) (Run, bool, error) {
	var r Run
	err := s.pool.QueryRow(ctx, `SELECT id, campaign_id, spec_version_id, state, COALESCE(installation_id, 0), control_sha, created_at
FROM runs WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1`, campaignID).
		Scan(&r.ID, &r.CampaignID, &r.SpecVersionID, &r.State, &r.InstallationID, &r.ControlSHA, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("read latest run of campaign %d: %w", campaignID, err)
	}
	return r, true, nil
}

// TaskByPR finds the newest repo task whose pull request is repo#number.
func (s *Store) TaskByPR(ctx context.Context, repo string, number int) (RepoTask, bool, error) {
	t, err := scanRepoTask(s.pool.QueryRow(ctx, `SELECT `+repoTaskCols+` FROM repo_tasks
WHERE lower(repository) = lower($1) AND pr_number = $2 ORDER BY created_at DESC LIMIT 1`, repo, number))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("find the campaign task of %s#%d: %w", repo, number, err)
	}
	return t, true, nil
}

// SetRunState moves a run from one of the states in from to state, with
// a reason shown on the dashboard (paused_reason). changed is false when
// the run was not in any of from.
func (s *Store) SetRunState(ctx context.Context, runID int64, from []string, state, reason string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
UPDATE runs SET state = $3, paused_reason = NULLIF($4, ''), updated_at = now(),
    finished_at = CASE WHEN $3 IN ('completed', 'cancelled', 'failed') THEN now() ELSE finished_at END
WHERE id = $1 AND state = ANY($2)`, runID, from, state, reason)
	if err != nil {
		return false, fmt.Errorf("move run %d to %s: %w", runID, state, err)
	}
	return tag.RowsAffected() == 1, nil
}

// TasksInStates lists a run's tasks in the given states.
func (s *Store) TasksInStates(ctx context.Context, runID int64, states ...string) ([]RepoTask, error) {
	return queryRows(ctx, s.pool, fmt.Sprintf("list %v tasks of run %d", states, runID), scanRepoTask, `SELECT `+repoTaskCols+` FROM repo_tasks WHERE run_id = $1 AND state = ANY($2) ORDER BY repository`, runID, states)
}

// CancelRun marks the run cancelled and every task that has not reached a
// pull request or a final state cancelled, in one transaction. It returns
// the tasks whose pull request is open (published, or patch_ready with a
// PR): the caller closes those.
func (s *Store) CancelRun(ctx context.Context, runID int64, reason string) (changed bool, open []RepoTask, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE runs SET state = 'cancelled', paused_reason = NULLIF($2, ''), finished_at = now(), updated_at = now()
WHERE id = $1 AND state IN ('planned', 'awaiting_approval', 'running', 'paused')`, runID, reason)
		if err != nil {
			return fmt.Errorf("cancel run %d: %w", runID, err)
		}
		changed = tag.RowsAffected() == 1
		if !changed {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE repo_tasks SET state = 'cancelled', lease_until = NULL, updated_at = now()
WHERE run_id = $1 AND state IN ('pending', 'queued', 'running', 'patch_ready', 'publishing') AND pr_number IS NULL`, runID); err != nil {
			return fmt.Errorf("cancel tasks of run %d: %w", runID, err)
		}
		rows, err := tx.Query(ctx, `SELECT `+repoTaskCols+` FROM repo_tasks
WHERE run_id = $1 AND pr_number IS NOT NULL AND state NOT IN `+finalStatesSQL+` ORDER BY repository`, runID)
		if err != nil {
			return fmt.Errorf("list open pull requests of run %d: %w", runID, err)
		}
		open, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (RepoTask, error) { return scanRepoTask(r) })
		return err
	})
	return changed, open, err
}

// SetTaskState moves a task from one of from to state (with an optional
// error text). changed is false when it was in none of from.
func (s *Store) SetTaskState(ctx context.Context, id uuid.UUID, from []string, state, reason string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE repo_tasks SET state = $3, error = COALESCE(NULLIF($4, ''), error), lease_until = NULL, updated_at = now()
WHERE id = $1 AND state = ANY($2)`, id, from, state, reason)
	if err != nil {
		return false, fmt.Errorf("move repo task %s to %s: %w", id, state, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RequeueForRebase puts a task back to queued on a new base commit under a
// new dedupe key (the queue's task id), keeping its pull request: the
// change is made again on the current base and the PR updated.
func (s *Store) RequeueForRebase(ctx context.Context, id uuid.UUID, baseSHA, dedupeKey string) (RepoTask, bool, error) {
	t, err := scanRepoTask(s.pool.QueryRow(ctx, `
UPDATE repo_tasks SET state = 'queued', base_sha = $2, dedupe_key = $3, attempts = 0, error = NULL, lease_until = NULL, updated_at = now()
WHERE id = $1 AND state IN ('published', 'patch_ready', 'no_changes', 'failed', 'closed')
RETURNING `+repoTaskCols, id, baseSHA, dedupeKey))
	if errors.Is(err, pgx.ErrNoRows) {
		cur, err := s.GetRepoTask(ctx, id)
		return cur, false, err
	}
	if err != nil {
		return t, false, fmt.Errorf("requeue repo task %s for a rebase: %w", id, err)
	}
	return t, true, nil
}

// SnoozeTask sets when updates to a task's pull request may resume.
func (s *Store) SnoozeTask(ctx context.Context, id uuid.UUID, until time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE repo_tasks SET snoozed_until = $2, updated_at = now() WHERE id = $1`, id, until); err != nil {
		return fmt.Errorf("snooze repo task %s: %w", id, err)
	}
	return nil
}

// Exclude records that a campaign must leave repo alone.
func (s *Store) Exclude(ctx context.Context, campaignID int64, repo, by, reason string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO campaign_exclusions (campaign_id, repository, reason, excluded_by) VALUES ($1, lower($2), $3, $4)
ON CONFLICT (campaign_id, repository) DO UPDATE SET reason = EXCLUDED.reason, excluded_by = EXCLUDED.excluded_by`, campaignID, repo, reason, by)
	if err != nil {
		return fmt.Errorf("exclude %s from campaign %d: %w", repo, campaignID, err)
	}
	return nil
}

// Exclusions lists the repositories (lower case) a campaign leaves alone.
func (s *Store) Exclusions(ctx context.Context, campaignID int64) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT repository FROM campaign_exclusions WHERE campaign_id = $1`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("list exclusions of campaign %d: %w", campaignID, err)
	}
	repos, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list exclusions of campaign %d: %w", campaignID, err)
	}
	out := make(map[string]bool, len(repos))
	for _, r := range repos {
		out[r] = true
	}
	return out, nil
}

// WaveProgress is what AdvanceWave decided.
type WaveProgress struct {
	Released []RepoTask // tasks of the next wave, now queued
	Wave     int        // the run's current wave afterwards
	Finished int        // tasks in a final state
	Failed   int
	Total    int
}

// AdvanceWave releases the next wave of a running run when every task of
// the waves so far is done (final, or its PR open) and gate allows it:
// its pending tasks become queued. It runs under the run's row lock, so
// two finishing tasks release a wave once.
func (s *Store) AdvanceWave(ctx context.Context, runID int64, gate func(tx pgx.Tx, wave int) (bool, error)) (WaveProgress, error) {
	var p WaveProgress
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT state, current_wave FROM runs WHERE id = $1 FOR UPDATE`, runID).Scan(&state, &p.Wave); err != nil {
			return fmt.Errorf("lock run %d: %w", runID, err)
		}
		var holding int
		var next *int
		if err := tx.QueryRow(ctx, `
SELECT count(*) FILTER (WHERE state IN `+finalStatesSQL+`),
       count(*) FILTER (WHERE state = 'failed'),
       count(*),
       count(*) FILTER (WHERE wave <= $2 AND NOT (`+waveDoneSQL+`)),
       min(wave) FILTER (WHERE state = 'pending')
FROM repo_tasks WHERE run_id = $1`, runID, p.Wave).Scan(&p.Finished, &p.Failed, &p.Total, &holding, &next); err != nil {
			return fmt.Errorf("count tasks of run %d: %w", runID, err)
		}
		if state != RunRunning || holding > 0 || next == nil {
			return nil
		}
		if gate != nil {
			ok, err := gate(tx, p.Wave)
			if err != nil || !ok {
				return err
			}
		}
		rows, err := tx.Query(ctx, `UPDATE repo_tasks SET state = 'queued', updated_at = now()
WHERE run_id = $1 AND wave = $2 AND state = 'pending' RETURNING `+repoTaskCols, runID, *next)
		if err != nil {
			return fmt.Errorf("release wave %d of run %d: %w", *next, runID, err)
		}
		if p.Released, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (RepoTask, error) { return scanRepoTask(r) }); err != nil {
			return fmt.Errorf("release wave %d of run %d: %w", *next, runID, err)
		}
		p.Wave = *next
		if _, err := tx.Exec(ctx, `UPDATE runs SET current_wave = $2, updated_at = now() WHERE id = $1`, runID, p.Wave); err != nil {
			return fmt.Errorf("record wave %d of run %d: %w", p.Wave, runID, err)
		}
		return nil
	})
	return p, err
}

// CompleteRunIfDone moves a running or paused run whose tasks are all
// final to completed. It reports whether it did.
func (s *Store) CompleteRunIfDone(ctx context.Context, runID int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
UPDATE runs SET state = 'completed', finished_at = now(), paused_reason = NULL, updated_at = now()
WHERE id = $1 AND state IN ('running', 'paused')
  AND NOT EXISTS (SELECT 1 FROM repo_tasks WHERE run_id = $1 AND state NOT IN `+finalStatesSQL+`)`, runID)
	if err != nil {
		return false, fmt.Errorf("complete run %d: %w", runID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ActivateRun starts an awaiting_approval run: state running and its tasks
// written, in one transaction. ok is false when the run was not awaiting.
func (s *Store) ActivateRun(ctx context.Context, runID int64, tasks []NewTask) (Run, []RepoTask, bool, error) {
	var out []RepoTask
	var r Run
	ok := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE runs SET state = 'running', started_at = now(), updated_at = now()
WHERE id = $1 AND state = 'awaiting_approval'
RETURNING id, campaign_id, spec_version_id, state, COALESCE(installation_id, 0), control_sha, created_at`, runID).
			Scan(&r.ID, &r.CampaignID, &r.SpecVersionID, &r.State, &r.InstallationID, &r.ControlSHA, &r.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("activate run %d: %w", runID, err)
		}
		ok = true
		out, err = insertTasks(ctx, tx, r.ID, tasks)
		return err
	})
	if err != nil || !ok {
		return r, nil, ok, err
	}
	return r, out, true, nil
}

// RecordThrottle remembers why and until when the run's publishing waits
// (zero until clears it), for the dashboard's throttle line.
func (s *Store) RecordThrottle(ctx context.Context, runID int64, until time.Time, reason string) error {
	var u *time.Time
	if !until.IsZero() {
		u = &until
	}
	_, err := s.pool.Exec(ctx, `UPDATE runs SET throttled_until = $2, throttle_reason = NULLIF($3, '')
WHERE id = $1 AND throttled_until IS DISTINCT FROM $2`, runID, u, reason)
	if err != nil {
		return fmt.Errorf("record throttle of run %d: %w", runID, err)
	}
	return nil
}

// Setting reads a process-wide setting into v; ok is false when unset.
func (s *Store) Setting(ctx context.Context, key string, v any) (ok bool, by string, at time.Time, err error) {
	var raw []byte
	err = s.pool.QueryRow(ctx, `SELECT value, updated_by, updated_at FROM settings WHERE key = $1`, key).Scan(&raw, &by, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, "", at, nil
	}
	if err != nil {
		return false, "", at, fmt.Errorf("read setting %s: %w", key, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, "", at, fmt.Errorf("decode setting %s: %w", key, err)
	}
	return true, by, at, nil
}

// PutSetting writes a process-wide setting.
func (s *Store) PutSetting(ctx context.Context, key string, v any, by string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode setting %s: %w", key, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO settings (key, value, updated_by) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()`, key, raw, by)
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}

// RunSpec returns the run's spec version id and YAML, and the failed-task
// count acknowledged by the last resume.
func (s *Store) RunSpec(ctx context.Context, runID int64) (versionID int64, yaml string, failuresAcked int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT v.id, v.yaml, r.failures_acked FROM runs r JOIN spec_versions v ON v.id = r.spec_version_id WHERE r.id = $1`, runID).
		Scan(&versionID, &yaml, &failuresAcked)
	if err != nil {
		return 0, "", 0, fmt.Errorf("read the spec of run %d: %w", runID, err)
	}
	return versionID, yaml, failuresAcked, nil
}

// ResumeRun moves a paused run back to running and acknowledges its
// failures so far (pauseOnFailureRate pauses again only on new ones).
func (s *Store) ResumeRun(ctx context.Context, runID int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
UPDATE runs SET state = 'running', paused_reason = NULL, updated_at = now(),
    failures_acked = (SELECT count(*) FROM repo_tasks WHERE run_id = $1 AND state = 'failed')
WHERE id = $1 AND state = 'paused'`, runID)
	if err != nil {
		return false, fmt.Errorf("resume run %d: %w", runID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RekeyTask gives a requeued task a new dedupe key (its queue task id) so
// work that ended in the dead-letter queue under the old key can run
// again, and, when baseSHA is set, the commit to execute on (a retry runs
// on the base branch's current head).
func (s *Store) RekeyTask(ctx context.Context, id uuid.UUID, key, baseSHA string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE repo_tasks SET dedupe_key = $2, base_sha = COALESCE(NULLIF($3, ''), base_sha) WHERE id = $1`, id, key, baseSHA); err != nil {
		return fmt.Errorf("rekey repo task %s: %w", id, err)
	}
	return nil
}

// ReopenRun moves a completed run back to running (a retry found work).
func (s *Store) ReopenRun(ctx context.Context, runID int64) error {
	if _, err := s.pool.Exec(ctx, `UPDATE runs SET state = 'running', finished_at = NULL, updated_at = now() WHERE id = $1 AND state = 'completed'`, runID); err != nil {
		return fmt.Errorf("reopen run %d: %w", runID, err)
	}
	return nil
}
