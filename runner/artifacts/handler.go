package artifacts

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// Headers of the artifact API.
const (
	// HeaderContentSHA256 carries the hex sha256 of the body: required on
	// upload, set on download.
	HeaderContentSHA256 = "X-Content-SHA256"
)

// handler serves the artifact API.
type handler struct {
	storage  Storage
	signer   *Signer
	meta     MetaStore
	maxBytes map[Kind]int64
	logger   *zerolog.Logger
}

// HandlerOption configures NewHandler.
type HandlerOption func(*handler)

// WithLogger sets the logger; by default the request context's zerolog
// logger is used.
func WithLogger(l zerolog.Logger) HandlerOption { return func(h *handler) { h.logger = &l } }

// WithMaxBytes overrides the body size limit of one kind.
func WithMaxBytes(kind Kind, n int64) HandlerOption {
	return func(h *handler) {
		if _, ok := h.maxBytes[kind]; ok && n > 0 {
			h.maxBytes[kind] = n
		}
	}
}

// NewHandler serves
//
//	PUT  …/tasks/{task}/{kind}   upload (Authorization: Bearer <upload token>, X-Content-SHA256, Content-Length)
//	GET  …/tasks/{task}/{kind}   download (Authorization: Bearer <download token>); HEAD too
//
// where … is wherever it is mounted: the last three path segments are
// matched, so it works with or without http.StripPrefix(PathPrefix, h).
// Every error answer is JSON {"message": "..."}.
func NewHandler(storage Storage, signer *Signer, meta MetaStore, opts ...HandlerOption) http.Handler {
	h := &handler{storage: storage, signer: signer, meta: meta, maxBytes: map[Kind]int64{}}
	for k, n := range defaultMaxBytes {
		h.maxBytes[k] = n
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// ServeHTTP routes by method after checking the path.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.storage == nil || h.signer == nil || h.meta == nil {
		// A wiring mistake answers, rather than panicking per request.
		h.log(r).Error().Msg("artifact handler built without storage, signer or metadata store")
		writeError(w, http.StatusServiceUnavailable, "artifact service is not configured")
		return
	}
	t, status, err := parsePath(r.URL.EscapedPath())
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	log := h.log(r).With().Str("task", t.task).Str("kind", string(t.kind)).Str("method", r.Method).Logger()
	switch r.Method {
	case http.MethodPut:
		if h.authorize(w, r, log, t, OpUpload) {
			h.upload(w, r, log, t)
		}
	case http.MethodGet, http.MethodHead:
		if h.authorize(w, r, log, t, OpDownload) {
			h.download(w, r, log, t)
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (h *handler) log(r *http.Request) *zerolog.Logger {
	if h.logger != nil {
		return h.logger
	}
	return zerolog.Ctx(r.Context())
}

// target is the artifact a request names.
type target struct {
	task string // canonical UUID
	id   uuid.UUID
	kind Kind
}

// parsePath takes the escaped path so that an encoded slash stays inside
// its segment, where the UUID check refuses it: a task id can never carry
// "..", "/" or anything else into a storage key.
func parsePath(escaped string) (target, int, error) {
	segs := strings.Split(escaped, "/")
	if len(segs) < 3 || segs[len(segs)-3] != "tasks" {
		return target{}, http.StatusNotFound, errors.New("not found: want …/tasks/{task}/{kind}")
	}
	task := segs[len(segs)-2]
	id, err := uuid.Parse(task)
	if err != nil || id.String() != task {
		return target{}, http.StatusBadRequest, errors.New("task id must be a canonical lower-case UUID")
	}
	kind, err := ParseKind(segs[len(segs)-1])
	if err != nil {
		return target{}, http.StatusNotFound, err
	}
	return target{task: task, id: id, kind: kind}, 0, nil
}

// authorize checks the bearer token; a refusal is answered and logged
// with the reason, never the token.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request, log zerolog.Logger, t target, op Operation) bool {
	token, ok := bearer(r.Header.Get("Authorization"))
	var err error
	if !ok {
		err = fmt.Errorf("%w: missing bearer token", ErrTokenMalformed)
	} else {
		_, err = h.signer.Verify(token, t.task, op, t.kind)
	}
	if err == nil {
		return true
	}
	status := http.StatusUnauthorized
	if errors.Is(err, ErrTokenScope) {
		status = http.StatusForbidden
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="campaignbot-artifacts"`)
	}
	log.Warn().Str("operation", string(op)).Str("remote_addr", r.RemoteAddr).AnErr("reason", err).
		Msg("artifact request refused")
	writeError(w, status, err.Error())
	return false
}

func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

type errorBody struct {
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away; nothing to tell it
}
