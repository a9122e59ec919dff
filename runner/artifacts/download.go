package artifacts

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/rs/zerolog"
)

// download streams the task's current artifact of kind. ETag is the
// quoted sha256, so a client can verify what it received and revalidate
// with If-None-Match.
func (h *handler) download(w http.ResponseWriter, r *http.Request, log zerolog.Logger, t target) {
	rc, a, err := OpenCurrent(r.Context(), h.storage, h.meta, t.id, t.kind)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no "+string(t.kind)+" artifact for this task")
		return
	}
	if err != nil {
		log.Error().Err(err).Msg("could not open artifact")
		writeError(w, http.StatusInternalServerError, "could not read artifact")
		return
	}
	defer rc.Close()
	etag := `"` + a.SHA256 + `"`
	hdr := w.Header()
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", "private, no-cache")
	if inm := r.Header.Get("If-None-Match"); inm == etag || inm == "*" {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Length", strconv.FormatInt(a.SizeBytes, 10))
	hdr.Set(HeaderContentSHA256, a.SHA256)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		// Headers are out; the short body fails the client's sha check.
		log.Warn().Err(err).Msg("artifact download interrupted")
		return
	}
	log.Debug().Int64("size", a.SizeBytes).Msg("artifact served")
}
