package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// LeaseTTL bounds how long one holder keeps a run lease. The work under
// the lease runs with a deadline a little shorter, so a lease never
// expires while its holder still acts on it.
const LeaseTTL = 2 * time.Minute

// Lease purposes: each names one kind of work serialised per run.
const (
	LeaseDashboard = "dashboard"
	LeaseSlack     = "slack"
)

// withRunLease runs fn while this caller holds the run's lease for
// purpose; ok is false (fn not run) when another holder has an unexpired
// one. No connection is held while fn runs: fn may take several of its own.
func (s *Store) withRunLease(ctx context.Context, runID int64, purpose string, fn func(ctx context.Context) error) (ok bool, err error) {
	holder := uuid.New()
	err = s.pool.QueryRow(ctx, `
INSERT INTO run_leases (run_id, purpose, holder, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
ON CONFLICT (run_id, purpose) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
WHERE run_leases.expires_at < now()
RETURNING true`, runID, purpose, holder, LeaseTTL.Seconds()).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take the %s lease of run %d: %w", purpose, runID, err)
	}
	defer func() {
		// Released even when ctx ended; a failed release just waits out the TTL.
		if _, relErr := s.pool.Exec(context.WithoutCancel(ctx), `DELETE FROM run_leases WHERE run_id = $1 AND purpose = $2 AND holder = $3`, runID, purpose, holder); relErr != nil && err == nil {
			err = fmt.Errorf("release the %s lease of run %d: %w", purpose, runID, relErr)
		}
	}()
	workCtx, cancel := context.WithTimeout(ctx, LeaseTTL-10*time.Second)
	defer cancel()
	return true, fn(workCtx)
}

// WithRunLock runs fn holding the run's dashboard lease, so two dashboard
// updates of one run never interleave (the check run is created once); ok
// is false (fn not run) when another holder has it.
func (s *Store) WithRunLock(ctx context.Context, runID int64, fn func(ctx context.Context) error) (bool, error) {
	return s.withRunLease(ctx, runID, LeaseDashboard, fn)
}

// WithSlackLock runs fn holding the run's Slack lease, so two updates never
// post its message twice. A lease of its own: the dashboard's must not make
// Slack wait, nor the other way round.
func (s *Store) WithSlackLock(ctx context.Context, runID int64, fn func(ctx context.Context) error) (bool, error) {
	return s.withRunLease(ctx, runID, LeaseSlack, fn)
}
