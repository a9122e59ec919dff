package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// GetSelection returns the cached target selection stored under key, if
// it has not expired at now. An expired row is treated as missing rather
// than deleted here: reads stay read-only, and PutSelection overwrites it.
func (s *Store) GetSelection(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	var result []byte
	err := s.pool.QueryRow(ctx,
		`SELECT result FROM selection_cache WHERE cache_key = $1 AND expires_at > $2`,
		key, now).Scan(&result)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read selection cache %s: %w", key, err)
	}
	return result, true, nil
}

// PutSelection stores (or replaces) the selection result, a JSON document,
// under key until expiresAt. It also deletes a few expired rows so the
// table does not grow without a separate janitor.
func (s *Store) PutSelection(ctx context.Context, key string, result []byte, expiresAt, now time.Time) error {
	_, err := s.pool.Exec(ctx, `
INSERT INTO selection_cache (cache_key, result, expires_at, created_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (cache_key) DO UPDATE
SET result = EXCLUDED.result, expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at`,
		key, result, expiresAt, now)
	if err != nil {
		return fmt.Errorf("write selection cache %s: %w", key, err)
	}
	// Bounded so one write never turns into a long delete.
	_, err = s.pool.Exec(ctx, `
DELETE FROM selection_cache WHERE cache_key IN (
    SELECT cache_key FROM selection_cache WHERE expires_at <= $1 LIMIT 100)`, now)
	if err != nil {
		return fmt.Errorf("delete expired selection cache rows: %w", err)
	}
	return nil
}
