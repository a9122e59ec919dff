package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery states. A delivery is stored as pending before it is enqueued, so
// nothing is acknowledged to GitHub that is not durable.
const (
	DeliveryPending    = "pending"
	DeliveryProcessing = "processing"
	DeliveryProcessed  = "processed"
	DeliveryFailed     = "failed"
)

// Delivery is one stored GitHub webhook delivery.
type Delivery struct {
	ID             string
	Event          string
	Action         string
	InstallationID int64
	Repository     string
	Payload        []byte
	State          string
	Attempts       int
	LastError      string
	ReceivedAt     time.Time
	ProcessedAt    *time.Time
}

// InsertDelivery stores d unless a delivery with the same id exists. It
// returns the state of the stored row and whether this call inserted it.
func (s *Store) InsertDelivery(ctx context.Context, d Delivery) (state string, inserted bool, err error) {
	var inst *int64
	if d.InstallationID != 0 {
		inst = &d.InstallationID
	}
	// The CTE answers both cases in one round trip: the new row, or the existing one.
	err = s.pool.QueryRow(ctx, `
WITH ins AS (
    INSERT INTO webhook_deliveries (delivery_id, event, action, installation_id, repository, payload)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (delivery_id) DO NOTHING
    RETURNING state
)
SELECT state, true FROM ins
UNION ALL
SELECT state, false FROM webhook_deliveries WHERE delivery_id = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
		d.ID, d.Event, d.Action, inst, d.Repository, d.Payload).Scan(&state, &inserted)
	if errors.Is(err, pgx.ErrNoRows) {
		// The conflicting row was inserted by a concurrent transaction that
		// is not visible to this statement's snapshot yet: it exists.
		return DeliveryPending, false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store delivery %s: %w", d.ID, err)
	}
	return state, inserted, nil
}

// ClaimDelivery marks a delivery as processing and returns it, unless it was
// already processed (then ok is false: a duplicate task must do nothing).
func (s *Store) ClaimDelivery(ctx context.Context, id string) (d Delivery, ok bool, err error) {
	var inst *int64
	err = s.pool.QueryRow(ctx, `
UPDATE webhook_deliveries SET state = 'processing', attempts = attempts + 1
WHERE delivery_id = $1 AND state <> 'processed'
RETURNING delivery_id, event, action, installation_id, repository, payload, state, attempts, received_at`, id).
		Scan(&d.ID, &d.Event, &d.Action, &inst, &d.Repository, &d.Payload, &d.State, &d.Attempts, &d.ReceivedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("claim delivery %s: %w", id, err)
	}
	if inst != nil {
		d.InstallationID = *inst
	}
	return d, true, nil
}

// FinishDelivery records the outcome of processing a delivery.
func (s *Store) FinishDelivery(ctx context.Context, id string, procErr error) error {
	var err error
	if procErr == nil {
		_, err = s.pool.Exec(ctx, `UPDATE webhook_deliveries SET state = 'processed', processed_at = now(), last_error = NULL WHERE delivery_id = $1`, id)
	} else {
		_, err = s.pool.Exec(ctx, `UPDATE webhook_deliveries SET state = 'failed', last_error = $2 WHERE delivery_id = $1`, id, procErr.Error())
	}
	if err != nil {
		return fmt.Errorf("record outcome of delivery %s: %w", id, err)
	}
	return nil
}

// GetDelivery reads one delivery.
func (s *Store) GetDelivery(ctx context.Context, id string) (Delivery, error) {
	var d Delivery
	var inst *int64
	var lastErr *string
	err := s.pool.QueryRow(ctx, `
SELECT delivery_id, event, action, installation_id, repository, payload, state, attempts, last_error, received_at, processed_at
FROM webhook_deliveries WHERE delivery_id = $1`, id).
		Scan(&d.ID, &d.Event, &d.Action, &inst, &d.Repository, &d.Payload, &d.State, &d.Attempts, &lastErr, &d.ReceivedAt, &d.ProcessedAt)
	if err != nil {
		return d, fmt.Errorf("read delivery %s: %w", id, err)
	}
	if inst != nil {
		d.InstallationID = *inst
	}
	if lastErr != nil {
		d.LastError = *lastErr
	}
	return d, nil
}

// UnfinishedDeliveries lists deliveries received before olderThan that are
// still pending or processing: their queue entry may have been lost.
func (s *Store) UnfinishedDeliveries(ctx context.Context, olderThan time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
SELECT delivery_id FROM webhook_deliveries
WHERE state IN ('pending', 'processing') AND received_at < $1
ORDER BY received_at LIMIT $2`, olderThan, limit)
	if err != nil {
		return nil, fmt.Errorf("list unfinished deliveries: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list unfinished deliveries: %w", err)
	}
	return ids, nil
}

// CountDeliveries counts stored deliveries, optionally in one state ("" for all).
func (s *Store) CountDeliveries(ctx context.Context, state string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE $1 = '' OR state = $1`, state).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count deliveries: %w", err)
	}
	return n, nil
}
