package artifacts

import (
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

	stored, err := Save(log.WithContext(ctx), h.storage, h.meta, t.id, t.kind, body, size, sha)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "artifact exceeds the size limit for its kind")
		case errors.Is(err, ErrDigestMismatch):
			log.Warn().Str("sha256", sha).Msg("artifact upload refused: body does not match its sha256")
			writeError(w, http.StatusBadRequest, "body does not match "+HeaderContentSHA256)
		case errors.Is(err, ErrSizeMismatch):
			writeError(w, http.StatusBadRequest, "body does not match Content-Length")
		case errors.Is(err, store.ErrArtifactTaskMissing):
			writeError(w, http.StatusNotFound, "no such task")
		default:
			log.Error().Err(err).Msg("could not store artifact")
			writeError(w, http.StatusInternalServerError, "could not store artifact")
		}
		return
	}
	log.Info().Str("sha256", sha).Int64("size", size).Msg("artifact stored")
	writeJSON(w, http.StatusCreated, UploadResponse{Task: t.task, Kind: t.kind, SHA256: stored.SHA256, Size: stored.SizeBytes})
}
