package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Receipt is what one ChatOps command did, kept so a replayed delivery
// answers from it instead of running the command again.
type Receipt struct {
	Key  string
	OK   bool
	Text string
}

// ChatOpsReceipt reads a receipt; ok is false when the command never ran.
func (s *Store) ChatOpsReceipt(ctx context.Context, key string) (Receipt, bool, error) {
	r := Receipt{Key: key}
	err := s.pool.QueryRow(ctx, `SELECT ok, text FROM chatops_receipts WHERE key = $1`, key).Scan(&r.OK, &r.Text)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("read chatops receipt %s: %w", key, err)
	}
	return r, true, nil
}

// SaveChatOpsReceipt records a command's outcome; the first record wins.
func (s *Store) SaveChatOpsReceipt(ctx context.Context, r Receipt) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO chatops_receipts (key, ok, text) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
		r.Key, r.OK, r.Text); err != nil {
		return fmt.Errorf("record chatops receipt %s: %w", r.Key, err)
	}
	return nil
}

// RunByCheckRun finds the run whose dashboard is the check run.
func (s *Store) RunByCheckRun(ctx context.Context, checkRunID int64) (runID int64, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT id FROM runs WHERE check_run_id = $1`, checkRunID).Scan(&runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("find the run of check run %d: %w", checkRunID, err)
	}
	return runID, true, nil
}

// CommitCampaigns lists, by name, the campaigns of a control repository
// that got a spec version at the commit (what a comment on that commit
// is about when it names none).
func (s *Store) CommitCampaigns(ctx context.Context, controlRepo, commitSHA string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
SELECT DISTINCT c.name FROM spec_versions v JOIN campaigns c ON c.id = v.campaign_id
WHERE c.control_repo = $1 AND v.commit_sha = $2 ORDER BY c.name`, controlRepo, commitSHA)
	if err != nil {
		return nil, fmt.Errorf("list campaigns of commit %s: %w", commitSHA, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list campaigns of commit %s: %w", commitSHA, err)
	}
	return out, nil
}

// KnownControlCommit reports whether a commit of the control repository
// was synced from its default branch (a version or a run came from it).
func (s *Store) KnownControlCommit(ctx context.Context, controlRepo, commitSHA string) (bool, error) {
	var known bool
	err := s.pool.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM spec_versions v JOIN campaigns c ON c.id = v.campaign_id WHERE c.control_repo = $1 AND v.commit_sha = $2)
    OR EXISTS (SELECT 1 FROM runs r JOIN campaigns c ON c.id = r.campaign_id WHERE c.control_repo = $1 AND r.control_sha = $2)
    OR EXISTS (SELECT 1 FROM control_repo_syncs WHERE control_repo = $1 AND commit_sha = $2)`, controlRepo, commitSHA).Scan(&known)
	if err != nil {
		return false, fmt.Errorf("look up control commit %s: %w", commitSHA, err)
	}
	return known, nil
}
