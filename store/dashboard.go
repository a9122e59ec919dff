package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// RunView is everything the run's dashboard shows.
type RunView struct {
	Run           Run
	CampaignName  string
	ControlRepo   string
	SpecVersion   int
	CheckRunID    int64
	DashboardHash string
	PausedReason  string
	// ThrottledUntil and ThrottleReason: the last publish that had to wait.
	ThrottledUntil *time.Time
	ThrottleReason string
	CurrentWave    int
	Tasks          []RepoTask
	StartedAt      *time.Time
	FinishedAt     *time.Time
	// Tracking is the reconciler's view of each task's pull request.
	Tracking map[uuid.UUID]Tracking
	// Landed counts repositories where verification found the change in
	// the default branch; VerifiedAt is set when verification finished.
	Landed     int
	VerifiedAt *time.Time
}

// LoadRunView reads a run with its campaign and every task.
func (s *Store) LoadRunView(ctx context.Context, runID int64) (RunView, error) {
	var v RunView
	var checkID *int64
	var hash, paused *string
	err := s.pool.QueryRow(ctx, `
SELECT r.id, r.campaign_id, r.spec_version_id, r.state, COALESCE(r.installation_id, 0), r.control_sha, r.created_at,
       r.check_run_id, r.dashboard_hash, r.paused_reason, r.started_at, r.finished_at, c.name, c.control_repo, sv.version,
       r.throttled_until, COALESCE(r.throttle_reason, ''), r.current_wave
FROM runs r JOIN campaigns c ON c.id = r.campaign_id JOIN spec_versions sv ON sv.id = r.spec_version_id
WHERE r.id = $1`, runID).Scan(&v.Run.ID, &v.Run.CampaignID, &v.Run.SpecVersionID, &v.Run.State, &v.Run.InstallationID,
		&v.Run.ControlSHA, &v.Run.CreatedAt, &checkID, &hash, &paused, &v.StartedAt, &v.FinishedAt, &v.CampaignName, &v.ControlRepo, &v.SpecVersion,
		&v.ThrottledUntil, &v.ThrottleReason, &v.CurrentWave)
	if err != nil {
		return v, fmt.Errorf("read run %d: %w", runID, err)
	}
	if checkID != nil {
		v.CheckRunID = *checkID
	}
	if hash != nil {
		v.DashboardHash = *hash
	}
	if paused != nil {
		v.PausedReason = *paused
	}
	if v.Tasks, err = s.RunTasks(ctx, runID); err != nil {
		return v, err
	}
	if err := s.loadTracking(ctx, &v); err != nil {
		return v, err
	}
	return v, nil
}

// SaveDashboard records the dashboard check run and what it last showed.
func (s *Store) SaveDashboard(ctx context.Context, runID, checkRunID int64, hash string) error {
	_, err := s.pool.Exec(ctx, `UPDATE runs SET check_run_id = $2, dashboard_hash = $3, updated_at = now() WHERE id = $1`, runID, checkRunID, hash)
	if err != nil {
		return fmt.Errorf("record dashboard of run %d: %w", runID, err)
	}
	return nil
}
