package artifacts

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// UploadResponse is the body of a successful upload.
type UploadResponse struct {
	Task   string `json:"task"`
	Kind   Kind   `json:"kind"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// upload stores the body under a fresh key, then points the metadata at
// it. A fresh key per upload is what makes a replace atomic: the old object
// is never overwritten in place, and it is deleted only after the metadata
// transaction that stopped referring to it has committed.
func (h *handler) upload(w http.ResponseWriter, r *http.Request, log zerolog.Logger, t target) {
	ctx := r.Context()
	sha := strings.ToLower(strings.TrimSpace(r.Header.Get(HeaderContentSHA256)))
	if err := checkSHA256(sha); err != nil {
		writeError(w, http.StatusBadRequest, HeaderContentSHA256+" header: "+err.Error())
		return
	}
	limit := h.maxBytes[t.kind]
	switch {
	case r.ContentLength < 0:
		writeError(w, http.StatusLengthRequired, "Content-Length is required")
		return
	case r.ContentLength > limit:
		log.Warn().Int64("size", r.ContentLength).Int64("limit", limit).Msg("artifact upload too large")
		writeError(w, http.StatusRequestEntityTooLarge, "artifact exceeds the size limit for its kind")
		return
	}
	size := r.ContentLength
	// Belt and braces: net/http already stops at Content-Length.
	body := http.MaxBytesReader(w, r.Body, limit)

	key := "tasks/" + t.task + "/" + string(t.kind) + "/" + randomHex(16)
	if err := h.storage.Put(ctx, key, body, size, sha); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "artifact exceeds the size limit for its kind")
		case errors.Is(err, ErrDigestMismatch):
			log.Warn().Str("sha256", sha).Msg("artifact upload refused: body does not match its sha256")
			writeError(w, http.StatusBadRequest, "body does not match "+HeaderContentSHA256)
		case errors.Is(err, ErrSizeMismatch):
			writeError(w, http.StatusBadRequest, "body does not match Content-Length")
		default:
			log.Error().Err(err).Msg("could not store artifact")
			writeError(w, http.StatusInternalServerError, "could not store artifact")
		}
		return
	}

	// From here on the object exists; cleanup must survive the client
	// hanging up, or it would leak.
	cleanupCtx := context.WithoutCancel(ctx)
	stored, replaced, err := h.meta.ReplaceArtifact(ctx, store.Artifact{
		TaskID: t.id, Kind: string(t.kind), SHA256: sha, SizeBytes: size, StorageKey: key,
	})
	if err != nil {
		h.deleteObject(cleanupCtx, log, key)
		if errors.Is(err, store.ErrArtifactTaskMissing) {
			writeError(w, http.StatusNotFound, "no such task")
			return
		}
		log.Error().Err(err).Msg("could not record artifact")
		writeError(w, http.StatusInternalServerError, "could not record artifact")
		return
	}
	for _, old := range replaced {
		if old.StorageKey != key {
			h.deleteObject(cleanupCtx, log, old.StorageKey)
		}
	}
	log.Info().Str("sha256", sha).Int64("size", size).Int("replaced", len(replaced)).Msg("artifact stored")
	writeJSON(w, http.StatusCreated, UploadResponse{Task: t.task, Kind: t.kind, SHA256: stored.SHA256, Size: stored.SizeBytes})
}

// deleteObject is best effort: an object left behind is unreferenced and
// invisible, only a cost.
func (h *handler) deleteObject(ctx context.Context, log zerolog.Logger, key string) {
	if err := h.storage.Delete(ctx, key); err != nil {
		log.Warn().Err(err).Str("storage_key", key).Msg("could not delete unreferenced artifact object")
	}
}
