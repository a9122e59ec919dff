package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1/"

// Store is what the API reads and writes in PostgreSQL.
type Store interface {
	AuthenticateAPIToken(ctx context.Context, tokenHash string, touchEvery time.Duration) (store.APIToken, bool, error)
	APITokens(ctx context.Context, afterID int64, limit int) ([]store.APIToken, error)
	RevokeAPIToken(ctx context.Context, id int64) (store.APIToken, bool, error)
	APICampaigns(ctx context.Context, controlRepo, afterName string, limit int) ([]store.CampaignSummary, error)
	APICampaign(ctx context.Context, controlRepo, name string) (store.CampaignSummary, bool, error)
	APISpecVersions(ctx context.Context, campaignID int64, beforeVersion, limit int) ([]store.SpecVersion, error)
	APISpecVersion(ctx context.Context, campaignID int64, version int) (store.SpecVersion, bool, error)
	APIRuns(ctx context.Context, campaignID, beforeID int64, limit int) ([]store.RunDetail, error)
	APIRun(ctx context.Context, runID int64) (store.RunDetail, bool, error)
	APITasks(ctx context.Context, f store.TaskFilter, limit int) ([]store.RepoTask, error)
	APITask(ctx context.Context, id uuid.UUID) (store.RepoTask, bool, error)
	APIAudit(ctx context.Context, f store.AuditFilter, limit int) ([]store.AuditEntry, error)
	CurrentArtifact(ctx context.Context, taskID uuid.UUID, kind string) (store.Artifact, bool, error)
	Audit(ctx context.Context, e store.AuditEntry) error
}

// RunControl changes a run's state (*orchestrator.Control). It does not
// authorise: the API does, and writes the audit row. An error wrapping
// orchestrator.ErrWrongState answers 409.
type RunControl interface {
	Pause(ctx context.Context, runID int64, actor, reason string) (changed bool, err error)
	Resume(ctx context.Context, runID int64, actor string) (changed bool, err error)
	Retry(ctx context.Context, runID int64, actor, repository string) (requeued int, err error)
	Cancel(ctx context.Context, runID int64, actor, reason string) (orchestrator.CancelResult, error)
}

// Selector resolves a spec's targets for an installation, as the plan
// check does (handlers/events.Targets).
type Selector interface {
	Select(ctx context.Context, installationID int64, t spec.Targets) (orchestrator.Targets, error)
}

// InstallationFinder names the installation whose repositories a plan
// resolves: the control repository's.
type InstallationFinder interface {
	ControlInstallation(ctx context.Context) (int64, error)
}

// LogOpener opens a task's stored logs artifact; ok is false when the
// task has none.
type LogOpener interface {
	OpenLogs(ctx context.Context, taskID uuid.UUID) (rc io.ReadCloser, a store.Artifact, ok bool, err error)
}

// Config is what the API needs. Store is required; a nil Control, Selector,
// Installations or Logs turns the routes needing them into clear 503s.
type Config struct {
	Store         Store
	ControlRepo   string
	Control       RunControl
	Selector      Selector
	Installations InstallationFinder
	Logs          LogOpener
	// TouchEvery bounds how often a token's last_used_at is written (default 1m).
	TouchEvery time.Duration
}

// Route is one method and path pattern of the API.
type Route struct {
	Method  string
	Pattern string // net/http pattern without the method, e.g. /api/v1/runs/{id}
	Scope   string // read | write
	Action  string // audit action of a write route ("" for reads)
	handle  func(*request) error
}

// Handler serves the API.
type Handler struct {
	cfg    Config
	routes []Route
	mux    *http.ServeMux
}

// New builds the API handler.
func New(cfg Config) *Handler {
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = time.Minute
	}
	h := &Handler{cfg: cfg}
	h.routes = []Route{
		{Method: http.MethodGet, Pattern: Prefix + "whoami", Scope: store.ScopeRead, handle: h.whoami},
		{Method: http.MethodGet, Pattern: Prefix + "campaigns", Scope: store.ScopeRead, handle: h.listCampaigns},
		{Method: http.MethodGet, Pattern: Prefix + "campaigns/{name}", Scope: store.ScopeRead, handle: h.getCampaign},
		{Method: http.MethodGet, Pattern: Prefix + "campaigns/{name}/versions", Scope: store.ScopeRead, handle: h.listVersions},
		{Method: http.MethodGet, Pattern: Prefix + "campaigns/{name}/versions/{version}", Scope: store.ScopeRead, handle: h.getVersion},
		{Method: http.MethodGet, Pattern: Prefix + "campaigns/{name}/runs", Scope: store.ScopeRead, handle: h.listRuns},
		{Method: http.MethodGet, Pattern: Prefix + "runs/{id}", Scope: store.ScopeRead, handle: h.getRun},
		{Method: http.MethodGet, Pattern: Prefix + "runs/{id}/changesets", Scope: store.ScopeRead, handle: h.listChangesets},
		{Method: http.MethodPost, Pattern: Prefix + "runs/{id}/pause", Scope: store.ScopeWrite, Action: "pause", handle: h.pause},
		{Method: http.MethodPost, Pattern: Prefix + "runs/{id}/resume", Scope: store.ScopeWrite, Action: "resume", handle: h.resume},
		{Method: http.MethodPost, Pattern: Prefix + "runs/{id}/retry", Scope: store.ScopeWrite, Action: "retry", handle: h.retry},
		{Method: http.MethodPost, Pattern: Prefix + "runs/{id}/cancel", Scope: store.ScopeWrite, Action: "cancel", handle: h.cancel},
		{Method: http.MethodGet, Pattern: Prefix + "changesets/{id}", Scope: store.ScopeRead, handle: h.getChangeset},
		{Method: http.MethodGet, Pattern: Prefix + "changesets/{id}/logs", Scope: store.ScopeRead, handle: h.getLogs},
		{Method: http.MethodGet, Pattern: Prefix + "changesets/{id}/logs/raw", Scope: store.ScopeRead, handle: h.getRawLogs},
		{Method: http.MethodGet, Pattern: Prefix + "audit", Scope: store.ScopeRead, handle: h.listAudit},
		{Method: http.MethodPost, Pattern: Prefix + "plan", Scope: store.ScopeRead, handle: h.plan},
		{Method: http.MethodGet, Pattern: Prefix + "tokens", Scope: store.ScopeWrite, handle: h.listTokens},
		{Method: http.MethodDelete, Pattern: Prefix + "tokens/{id}", Scope: store.ScopeWrite, Action: "token.revoke", handle: h.revokeToken},
	}
	// One mux entry per path answering every method, so a wrong method
	// gets the API's JSON 405 (with Allow) rather than net/http's text.
	byPath := map[string][]Route{}
	var paths []string
	for _, rt := range h.routes {
		if _, ok := byPath[rt.Pattern]; !ok {
			paths = append(paths, rt.Pattern)
		}
		byPath[rt.Pattern] = append(byPath[rt.Pattern], rt)
	}
	h.mux = http.NewServeMux()
	for _, p := range paths {
		h.mux.Handle(p, h.dispatch(byPath[p]))
	}
	h.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, CodeNotFound, "no API route "+r.URL.Path+"; see docs/api/rest.md")
	})
	return h
}

// Routes lists every route (docs/api/openapi.yaml must describe exactly these).
func (h *Handler) Routes() []Route { return slices.Clone(h.routes) }

// ServeHTTP serves one request; a panic answers 500 rather than dropping
// the connection.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			zerolog.Ctx(r.Context()).Error().Str("panic", fmt.Sprint(v)).Str("path", r.URL.Path).Msg("api handler panicked")
			writeError(w, CodeInternal, "internal error; the server log has the details")
		}
	}()
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) dispatch(routes []Route) http.Handler {
	var allow []string
	for _, rt := range routes {
		allow = append(allow, rt.Method)
	}
	sort.Strings(allow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range routes {
			if rt.Method == r.Method {
				h.serve(w, r, rt)
				return
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
	})
}

// request is one authenticated request being served.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	ctx   context.Context
	token store.APIToken
	route Route
}

// actor is how the audit log names the token's holder.
func (q *request) actor() string { return "api:" + q.token.Name }

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rt Route) {
	tok, err := h.authenticate(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		fail(w, r, errorf(CodeBadRequest, "malformed query string: "+err.Error()))
		return
	}
	q := &request{w: w, r: r, ctx: r.Context(), token: tok, route: rt}
	logger := zerolog.Ctx(r.Context()).With().Str("api_token", tok.Name).Str("route", rt.Method+" "+rt.Pattern).Logger()
	q.ctx = logger.WithContext(q.ctx)
	q.r = r.WithContext(q.ctx)
	if !allows(tok.Scope, rt.Scope) {
		if rt.Action != "" {
			h.audit(q, rt.Action, targetOf(q), "refused", "token scope "+tok.Scope+" lacks write", h.refusedDetails(q))
		}
		fail(w, q.r, errorf(CodeForbidden, fmt.Sprintf("this route needs a %s token; %q has scope %s", rt.Scope, tok.Name, tok.Scope)))
		return
	}
	if err := rt.handle(q); err != nil {
		fail(w, q.r, err)
	}
}

// allows reports whether a token of scope have may use a route needing want.
func allows(have, want string) bool {
	return have == store.ScopeWrite || (have == store.ScopeRead && want == store.ScopeRead)
}

// refusedDetails names the run and campaign of a run action refused
// before it ran, when the run exists, so the audit log's campaign filter
// finds the refusal too.
func (h *Handler) refusedDetails(q *request) map[string]any {
	if !strings.HasPrefix(q.route.Pattern, Prefix+"runs/") {
		return nil
	}
	run, err := h.run(q)
	if err != nil {
		return nil
	}
	return runDetails(run)
}

func targetOf(q *request) string {
	switch {
	case q.r.PathValue("id") != "" && q.route.Action == "token.revoke":
		return "token:" + q.r.PathValue("id")
	case q.r.PathValue("id") != "":
		return "run:" + q.r.PathValue("id")
	}
	return q.r.URL.Path
}

// audit writes one audit row; a failure to write it is logged, and does
// not undo an action already taken.
func (h *Handler) audit(q *request, action, target, outcome, reason string, details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	details["via"] = "api"
	err := h.cfg.Store.Audit(q.ctx, store.AuditEntry{Actor: q.actor(), Action: action, Target: target, Outcome: outcome, Reason: reason, Details: details})
	if err != nil {
		zerolog.Ctx(q.ctx).Error().Err(err).Str("action", action).Msg("could not write the audit log")
	}
}
