package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Campaign states.
const (
	CampaignActive = "active"
	CampaignClosed = "closed"
)

// Campaign is one campaign of a control repository, named by its spec.
type Campaign struct {
	ID          int64
	Name        string
	ControlRepo string
	SpecPath    string
	State       string
	CreatedAt   time.Time
	ClosedAt    *time.Time
}

// SpecVersion is one content of a campaign's spec.
type SpecVersion struct {
	ID          int64
	CampaignID  int64
	Version     int
	YAML        string
	ContentHash string
	CommitSHA   string
	Author      string
	CreatedAt   time.Time
}

// SyncedSpec is a valid spec file found in the control repository.
type SyncedSpec struct {
	Name, Path, YAML, ContentHash string
}

// SpecSync is the state of a control repository's spec folder at a commit.
type SpecSync struct {
	ControlRepo string
	CommitSHA   string
	Author      string
	Valid       []SyncedSpec
	// InvalidPaths are spec files that exist but do not validate: the
	// campaigns they held keep their previous version.
	InvalidPaths []string
}

// SpecSyncResult says what a sync changed.
type SpecSyncResult struct {
	Created     []string      // campaign names
	NewVersions []SpecVersion // includes version 1 of created campaigns
	Closed      []string
	Reopened    []string
	Unchanged   int
}

// ApplySpecSync makes the stored campaigns match a control repository's
// specs, in one transaction serialised per control repository: a new
// campaign per new name, a new version per changed content (an identical
// file makes none), and closes campaigns whose file is gone. Applying the
// same sync twice changes nothing.
func (s *Store) ApplySpecSync(ctx context.Context, in SpecSync) (SpecSyncResult, error) {
	var res SpecSyncResult
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		h := fnv.New64a()
		h.Write([]byte("spec-sync:" + in.ControlRepo))
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
			return fmt.Errorf("lock control repository %s: %w", in.ControlRepo, err)
		}
		rows, err := tx.Query(ctx, `SELECT id, name, spec_path, state FROM campaigns WHERE control_repo = $1`, in.ControlRepo)
		if err != nil {
			return fmt.Errorf("list campaigns of %s: %w", in.ControlRepo, err)
		}
		existing := map[string]Campaign{}
		for rows.Next() {
			var c Campaign
			if err := rows.Scan(&c.ID, &c.Name, &c.SpecPath, &c.State); err != nil {
				rows.Close()
				return fmt.Errorf("read campaign: %w", err)
			}
			existing[c.Name] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list campaigns of %s: %w", in.ControlRepo, err)
		}

		present := map[string]bool{}
		for _, sp := range in.Valid {
			present[sp.Name] = true
			c, ok := existing[sp.Name]
			switch {
			case !ok:
				if err := tx.QueryRow(ctx, `INSERT INTO campaigns (name, control_repo, spec_path) VALUES ($1, $2, $3) RETURNING id`,
					sp.Name, in.ControlRepo, sp.Path).Scan(&c.ID); err != nil {
					return fmt.Errorf("create campaign %s: %w", sp.Name, err)
				}
				res.Created = append(res.Created, sp.Name)
			case c.State == CampaignClosed || c.SpecPath != sp.Path:
				if _, err := tx.Exec(ctx, `UPDATE campaigns SET state = 'active', closed_at = NULL, spec_path = $2 WHERE id = $1`, c.ID, sp.Path); err != nil {
					return fmt.Errorf("update campaign %s: %w", sp.Name, err)
				}
				if c.State == CampaignClosed {
					res.Reopened = append(res.Reopened, sp.Name)
				}
			}
			var lastHash string
			var lastVersion int
			err := tx.QueryRow(ctx, `SELECT content_hash, version FROM spec_versions WHERE campaign_id = $1 ORDER BY version DESC LIMIT 1`, c.ID).
				Scan(&lastHash, &lastVersion)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("read latest version of %s: %w", sp.Name, err)
			}
			if lastHash == sp.ContentHash {
				res.Unchanged++
				continue
			}
			v := SpecVersion{CampaignID: c.ID, Version: lastVersion + 1, YAML: sp.YAML, ContentHash: sp.ContentHash, CommitSHA: in.CommitSHA, Author: in.Author}
			if err := tx.QueryRow(ctx, `
INSERT INTO spec_versions (campaign_id, version, yaml, content_hash, commit_sha, author)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at`,
				v.CampaignID, v.Version, v.YAML, v.ContentHash, v.CommitSHA, v.Author).Scan(&v.ID, &v.CreatedAt); err != nil {
				return fmt.Errorf("store version %d of %s: %w", v.Version, sp.Name, err)
			}
			res.NewVersions = append(res.NewVersions, v)
		}

		invalid := map[string]bool{}
		for _, p := range in.InvalidPaths {
			invalid[p] = true
		}
		for name, c := range existing {
			// A file that is still there but broken keeps its campaign on the previous version.
			if present[name] || c.State == CampaignClosed || invalid[c.SpecPath] {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE campaigns SET state = 'closed', closed_at = now() WHERE id = $1`, c.ID); err != nil {
				return fmt.Errorf("close campaign %s: %w", name, err)
			}
			res.Closed = append(res.Closed, name)
		}
		if _, err := tx.Exec(ctx, `
INSERT INTO control_repo_syncs (control_repo, commit_sha) VALUES ($1, $2)
ON CONFLICT (control_repo) DO UPDATE SET commit_sha = EXCLUDED.commit_sha, synced_at = now()`, in.ControlRepo, in.CommitSHA); err != nil {
			return fmt.Errorf("record sync of %s: %w", in.ControlRepo, err)
		}
		return nil
	})
	return res, err
}

// CampaignByName reads a campaign; ok is false when there is none.
func (s *Store) CampaignByName(ctx context.Context, controlRepo, name string) (c Campaign, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `
SELECT id, name, control_repo, spec_path, state, created_at, closed_at FROM campaigns
WHERE control_repo = $1 AND name = $2`, controlRepo, name).
		Scan(&c.ID, &c.Name, &c.ControlRepo, &c.SpecPath, &c.State, &c.CreatedAt, &c.ClosedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read campaign %s: %w", name, err)
	}
	return c, true, nil
}

// Campaigns lists a control repository's campaigns by name.
func (s *Store) Campaigns(ctx context.Context, controlRepo string) ([]Campaign, error) {
	rows, err := s.pool.Query(ctx, `
SELECT id, name, control_repo, spec_path, state, created_at, closed_at FROM campaigns
WHERE control_repo = $1 ORDER BY name`, controlRepo)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Campaign, error) {
		var c Campaign
		err := r.Scan(&c.ID, &c.Name, &c.ControlRepo, &c.SpecPath, &c.State, &c.CreatedAt, &c.ClosedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	return out, nil
}

// SpecVersions lists a campaign's versions, oldest first.
func (s *Store) SpecVersions(ctx context.Context, campaignID int64) ([]SpecVersion, error) {
	rows, err := s.pool.Query(ctx, `
SELECT id, campaign_id, version, yaml, content_hash, commit_sha, author, created_at FROM spec_versions
WHERE campaign_id = $1 ORDER BY version`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("list spec versions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SpecVersion, error) {
		var v SpecVersion
		err := r.Scan(&v.ID, &v.CampaignID, &v.Version, &v.YAML, &v.ContentHash, &v.CommitSHA, &v.Author, &v.CreatedAt)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("list spec versions: %w", err)
	}
	return out, nil
}

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
