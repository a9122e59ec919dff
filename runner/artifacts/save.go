package artifacts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
)

// Save stores one artifact of a task: the object first, under a fresh
// key, then the metadata row that makes it current (replacing the
// previous one, whose object is then deleted). Until the row commits
// nothing new is visible. The HTTP upload and in-process executors both
// come through here.
func Save(ctx context.Context, storage Storage, meta MetaStore, taskID uuid.UUID, kind Kind, r io.Reader, size int64, sha string) (store.Artifact, error) {
	key := "tasks/" + taskID.String() + "/" + string(kind) + "/" + randomHex(16)
	if err := storage.Put(ctx, key, r, size, sha); err != nil {
		return store.Artifact{}, fmt.Errorf("store %s artifact of task %s: %w", kind, taskID, err)
	}
	// From here on the object exists; cleanup must survive the caller going away.
	cleanupCtx := context.WithoutCancel(ctx)
	stored, replaced, err := meta.ReplaceArtifact(ctx, store.Artifact{TaskID: taskID, Kind: string(kind), SHA256: sha, SizeBytes: size, StorageKey: key})
	if err != nil {
		deleteObject(cleanupCtx, storage, key)
		return store.Artifact{}, fmt.Errorf("record %s artifact of task %s: %w", kind, taskID, err)
	}
	for _, old := range replaced {
		if old.StorageKey != key {
			deleteObject(cleanupCtx, storage, old.StorageKey)
		}
	}
	return stored, nil
}

// deleteObject is best effort: an object left behind is unreferenced and
// invisible, only a cost.
func deleteObject(ctx context.Context, storage Storage, key string) {
	if err := storage.Delete(ctx, key); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("storage_key", key).Msg("could not delete unreferenced artifact object")
	}
}

// Results keeps executions' results as `result` artifacts
// (orchestrator.ResultStore), for executors that run in the worker.
type Results struct {
	Storage Storage
	Meta    MetaStore
}

// SaveResult implements orchestrator.ResultStore; the key it returns is
// the artifact's storage key.
func (r Results) SaveResult(ctx context.Context, taskID uuid.UUID, res *runner.Result) (string, error) {
	data, err := EncodeResult(res)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	a, err := Save(ctx, r.Storage, r.Meta, taskID, KindResult, bytes.NewReader(data), int64(len(data)), hex.EncodeToString(sum[:]))
	if err != nil {
		return "", err
	}
	return a.StorageKey, nil
}

// MaxResultBytes bounds a result read back for publishing.
const MaxResultBytes = 64 << 20

// ReadResult implements orchestrator.ResultReader.
func (r Results) ReadResult(ctx context.Context, taskID uuid.UUID) (*runner.Result, error) {
	return ReadResult(ctx, r.Storage, r.Meta, taskID, MaxResultBytes)
}
