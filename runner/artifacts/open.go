package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
)

// ErrObjectMissing means an artifact is recorded but its object is gone.
var ErrObjectMissing = errors.New("artifact is recorded but its object is missing")

// OpenCurrent opens a task's current artifact of kind straight from the
// metadata and the storage, for readers inside the control plane (the
// orchestrator reading a result, the download handler). It returns an
// error wrapping ErrNotFound when the task has no such artifact.
func OpenCurrent(ctx context.Context, storage Storage, meta MetaStore, taskID uuid.UUID, kind Kind) (io.ReadCloser, store.Artifact, error) {
	// Two tries: a re-upload may delete the object between reading the
	// metadata and opening it; the second read sees the new artifact.
	for attempt := 0; ; attempt++ {
		a, ok, err := meta.CurrentArtifact(ctx, taskID, string(kind))
		if err != nil {
			return nil, store.Artifact{}, fmt.Errorf("open %s artifact of task %s: %w", kind, taskID, err)
		}
		if !ok {
			return nil, store.Artifact{}, fmt.Errorf("open %s artifact of task %s: %w", kind, taskID, ErrNotFound)
		}
		rc, info, err := storage.Get(ctx, a.StorageKey)
		if errors.Is(err, ErrNotFound) && attempt == 0 {
			continue
		}
		if errors.Is(err, ErrNotFound) {
			// Recorded but gone: data loss, not a plain "not found".
			return nil, a, fmt.Errorf("open %s artifact of task %s: object %s: %w", kind, taskID, a.StorageKey, ErrObjectMissing)
		}
		if err != nil {
			return nil, a, fmt.Errorf("open %s artifact of task %s: %w", kind, taskID, err)
		}
		if info.Size != a.SizeBytes || (info.SHA256 != "" && info.SHA256 != a.SHA256) {
			rc.Close()
			return nil, a, fmt.Errorf("open %s artifact of task %s: object %s (%d bytes, sha256 %s) does not match its record: %w",
				kind, taskID, a.StorageKey, info.Size, info.SHA256, ErrDigestMismatch)
		}
		return rc, a, nil
	}
}

// ReadResult decodes a task's current result artifact.
func ReadResult(ctx context.Context, storage Storage, meta MetaStore, taskID uuid.UUID, maxBytes int64) (*runner.Result, error) {
	rc, _, err := OpenCurrent(ctx, storage, meta, taskID, KindResult)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	res, err := DecodeResult(rc, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", taskID, err)
	}
	return res, nil
}
