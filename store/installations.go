package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Installation is a GitHub App installation as campaignbot knows it.
type Installation struct {
	ID                  int64
	AccountLogin        string
	AccountType         string
	AccountID           int64
	RepositorySelection string
	Permissions         map[string]string
	Events              []string
	SuspendedAt         *time.Time
	DeletedAt           *time.Time
}

// InstallationRepo is one repository an installation can access.
type InstallationRepo struct {
	ID       int64
	FullName string
	Private  bool
}

// UpsertInstallation creates or refreshes an installation; a re-created
// installation with the same id is un-deleted.
func (s *Store) UpsertInstallation(ctx context.Context, in Installation) error {
	perms, err := json.Marshal(in.Permissions)
	if err != nil {
		return fmt.Errorf("encode permissions of installation %d: %w", in.ID, err)
	}
	if in.Events == nil {
		in.Events = []string{}
	}
	_, err = s.pool.Exec(ctx, `
INSERT INTO installations (id, account_login, account_type, account_id, repository_selection, permissions, events, suspended_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET account_login = EXCLUDED.account_login, account_type = EXCLUDED.account_type,
    account_id = EXCLUDED.account_id, repository_selection = EXCLUDED.repository_selection,
    permissions = EXCLUDED.permissions, events = EXCLUDED.events, suspended_at = EXCLUDED.suspended_at,
    deleted_at = NULL, updated_at = now()`,
		in.ID, in.AccountLogin, in.AccountType, in.AccountID, in.RepositorySelection, perms, in.Events, in.SuspendedAt)
	if err != nil {
		return fmt.Errorf("store installation %d: %w", in.ID, err)
	}
	return nil
}

// MarkInstallationDeleted records that the App was uninstalled and forgets its repositories.
func (s *Store) MarkInstallationDeleted(ctx context.Context, id int64) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE installations SET deleted_at = now(), updated_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("mark installation %d deleted: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM installation_repositories WHERE installation_id = $1`, id); err != nil {
			return fmt.Errorf("forget repositories of installation %d: %w", id, err)
		}
		return nil
	})
}

// ReplaceInstallationRepos makes the stored repository list of an
// installation exactly repos, in one transaction.
func (s *Store) ReplaceInstallationRepos(ctx context.Context, installationID int64, repos []InstallationRepo) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM installation_repositories WHERE installation_id = $1`, installationID); err != nil {
			return fmt.Errorf("clear repositories of installation %d: %w", installationID, err)
		}
		rows := make([][]any, len(repos))
		for i, r := range repos {
			rows[i] = []any{installationID, r.ID, r.FullName, r.Private}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"installation_repositories"},
			[]string{"installation_id", "repository_id", "full_name", "private"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("store repositories of installation %d: %w", installationID, err)
		}
		return nil
	})
}

// GetInstallation reads one installation; ok is false when it is unknown.
func (s *Store) GetInstallation(ctx context.Context, id int64) (in Installation, ok bool, err error) {
	var perms []byte
	err = s.pool.QueryRow(ctx, `
SELECT id, account_login, account_type, account_id, repository_selection, permissions, events, suspended_at, deleted_at
FROM installations WHERE id = $1`, id).
		Scan(&in.ID, &in.AccountLogin, &in.AccountType, &in.AccountID, &in.RepositorySelection, &perms, &in.Events, &in.SuspendedAt, &in.DeletedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return in, false, nil
	}
	if err != nil {
		return in, false, fmt.Errorf("read installation %d: %w", id, err)
	}
	if err := json.Unmarshal(perms, &in.Permissions); err != nil {
		return in, false, fmt.Errorf("decode permissions of installation %d: %w", id, err)
	}
	return in, true, nil
}

// InstallationRepos lists the stored repositories of an installation, by name.
func (s *Store) InstallationRepos(ctx context.Context, installationID int64) ([]InstallationRepo, error) {
	rows, err := s.pool.Query(ctx, `
SELECT repository_id, full_name, private FROM installation_repositories
WHERE installation_id = $1 ORDER BY full_name`, installationID)
	if err != nil {
		return nil, fmt.Errorf("list repositories of installation %d: %w", installationID, err)
	}
	repos, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InstallationRepo, error) {
		var x InstallationRepo
		err := r.Scan(&x.ID, &x.FullName, &x.Private)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("list repositories of installation %d: %w", installationID, err)
	}
	return repos, nil
}
