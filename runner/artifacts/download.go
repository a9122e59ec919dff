package artifacts

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// download streams the task's current artifact of kind. ETag is the
// quoted sha256, so a client can verify what it received and revalidate
// with If-None-Match.
func (h *handler) download(w http.ResponseWriter, r *http.Request, log zerolog.Logger, t target) {
	ctx := r.Context()
	var (
		a    store.Artifact
		rc   io.ReadCloser
		info Info
	)
	// Two tries: a re-upload may delete the object between reading the
	// metadata and opening it; the second read sees the new artifact.
	for attempt := 0; ; attempt++ {
		cur, ok, err := h.meta.CurrentArtifact(ctx, t.id, string(t.kind))
		if err != nil {
			log.Error().Err(err).Msg("could not read artifact metadata")
			writeError(w, http.StatusInternalServerError, "could not read artifact")
			return
		}
		if !ok {
			writeError(w, http.StatusNotFound, "no "+string(t.kind)+" artifact for this task")
			return
		}
		etag := `"` + cur.SHA256 + `"`
		if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "*") {
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		rc, info, err = h.storage.Get(ctx, cur.StorageKey)
		if errors.Is(err, ErrNotFound) && attempt == 0 {
			continue
		}
		if err != nil {
			log.Error().Err(err).Str("storage_key", cur.StorageKey).Msg("artifact recorded but its object cannot be read")
			writeError(w, http.StatusInternalServerError, "could not read artifact")
			return
		}
		a = cur
		break
	}
	defer rc.Close()
	if info.Size != a.SizeBytes || (info.SHA256 != "" && info.SHA256 != a.SHA256) {
		log.Error().Str("storage_key", a.StorageKey).Int64("size", info.Size).Int64("recorded_size", a.SizeBytes).
			Msg("artifact object does not match its metadata")
		writeError(w, http.StatusInternalServerError, "artifact is corrupt")
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Length", strconv.FormatInt(a.SizeBytes, 10))
	hdr.Set("ETag", `"`+a.SHA256+`"`)
	hdr.Set(HeaderContentSHA256, a.SHA256)
	hdr.Set("Cache-Control", "private, no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		// Headers are sent; the short body (and the client's sha check)
		// tells the client.
		log.Warn().Err(err).Msg("artifact download interrupted")
		return
	}
	log.Debug().Msg("artifact served")
}
