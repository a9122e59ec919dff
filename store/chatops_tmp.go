package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Stand-ins for the run-control store additions (core); removed when they land.

// SpecVersionByID reads one spec version.
func (s *Store) SpecVersionByID(ctx context.Context, id int64) (SpecVersion, error) {
	var v SpecVersion
	err := s.pool.QueryRow(ctx, `
SELECT id, campaign_id, version, yaml, content_hash, commit_sha, author, created_at FROM spec_versions WHERE id = $1`, id).
		Scan(&v.ID, &v.CampaignID, &v.Version, &v.YAML, &v.ContentHash, &v.CommitSHA, &v.Author, &v.CreatedAt)
	if err != nil {
		return v, fmt.Errorf("read spec version %d: %w", id, err)
	}
	return v, nil
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
WHERE lower(repository) = lower($1) AND pr_number = $2 ORDER BY updated_at DESC LIMIT 1`, repo, number))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("find the campaign task of %s#%d: %w", repo, number, err)
	}
	return t, true, nil
}
