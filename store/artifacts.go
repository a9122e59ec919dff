package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrArtifactTaskMissing is returned by ReplaceArtifact when the repo task
// it names does not exist: an artifact always belongs to a task.
var ErrArtifactTaskMissing = errors.New("artifact's repo task does not exist")

// Artifact is the metadata of one stored task artifact; the bytes live in
// object storage under StorageKey.
type Artifact struct {
	ID         int64
	TaskID     uuid.UUID
	Kind       string // result | logs
	SHA256     string // hex
	SizeBytes  int64
	StorageKey string
	CreatedAt  time.Time
}

const artifactColumns = `id, task_id, kind, sha256, size_bytes, storage_key, created_at`

func scanArtifact(r pgx.Row) (Artifact, error) {
	var a Artifact
	err := r.Scan(&a.ID, &a.TaskID, &a.Kind, &a.SHA256, &a.SizeBytes, &a.StorageKey, &a.CreatedAt)
	return a, err
}

// ReplaceArtifact records a as the task's artifact of its kind and removes
// the rows it replaces, in one transaction, so a reader sees either the old
// artifact or the new one, never both or neither. It returns the stored row
// and the replaced rows, whose objects the caller deletes once this commits.
func (s *Store) ReplaceArtifact(ctx context.Context, a Artifact) (stored Artifact, replaced []Artifact, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		// The table has no UNIQUE (task_id, kind); two concurrent replaces
		// would each miss the other's new row under READ COMMITTED. The lock
		// serialises replaces of one task+kind and nothing else.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('artifact/' || $1::text || '/' || $2, 0))`, a.TaskID, a.Kind); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		rows, err := tx.Query(ctx, `DELETE FROM artifacts WHERE task_id = $1 AND kind = $2 RETURNING `+artifactColumns, a.TaskID, a.Kind)
		if err != nil {
			return fmt.Errorf("delete previous: %w", err)
		}
		replaced, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Artifact, error) { return scanArtifact(r) })
		if err != nil {
			return fmt.Errorf("delete previous: %w", err)
		}
		stored, err = scanArtifact(tx.QueryRow(ctx, `
INSERT INTO artifacts (task_id, kind, sha256, size_bytes, storage_key)
VALUES ($1, $2, $3, $4, $5)
RETURNING `+artifactColumns, a.TaskID, a.Kind, a.SHA256, a.SizeBytes, a.StorageKey))
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation
				return ErrArtifactTaskMissing
			}
			return fmt.Errorf("insert: %w", err)
		}
		return nil
	})
	if err != nil {
		return Artifact{}, nil, fmt.Errorf("replace %s artifact of task %s: %w", a.Kind, a.TaskID, err)
	}
	return stored, replaced, nil
}

// CurrentArtifact returns the task's artifact of kind; ok is false when
// there is none.
func (s *Store) CurrentArtifact(ctx context.Context, taskID uuid.UUID, kind string) (a Artifact, ok bool, err error) {
	// ORDER BY id DESC: should duplicates ever exist, the newest wins.
	a, err = scanArtifact(s.pool.QueryRow(ctx, `
SELECT `+artifactColumns+` FROM artifacts WHERE task_id = $1 AND kind = $2
ORDER BY id DESC LIMIT 1`, taskID, kind))
	if errors.Is(err, pgx.ErrNoRows) {
		return Artifact{}, false, nil
	}
	if err != nil {
		return Artifact{}, false, fmt.Errorf("read %s artifact of task %s: %w", kind, taskID, err)
	}
	return a, true, nil
}

// TaskArtifacts lists every artifact of a task, oldest first.
func (s *Store) TaskArtifacts(ctx context.Context, taskID uuid.UUID) ([]Artifact, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+artifactColumns+` FROM artifacts WHERE task_id = $1 ORDER BY id`, taskID)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of task %s: %w", taskID, err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Artifact, error) { return scanArtifact(r) })
	if err != nil {
		return nil, fmt.Errorf("list artifacts of task %s: %w", taskID, err)
	}
	return as, nil
}
