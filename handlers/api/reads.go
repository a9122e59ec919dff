package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/store"
)

// Every state a changeset can be in (DESIGN.md §5); ?state= accepts these.
var taskStates = []string{"pending", "queued", "running", "no_changes", "patch_ready", "publishing", "published",
	"merged", "closed", "failed", "skipped", "superseded", "cancelled"}

var campaignName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,99}$`)

func (h *Handler) whoami(q *request) error {
	writeJSON(q.w, http.StatusOK, toToken(q.token))
	return nil
}

func (h *Handler) listCampaigns(q *request) error {
	limit, after, err := q.pageParams("campaigns")
	if err != nil {
		return err
	}
	rows, err := h.cfg.Store.APICampaigns(q.ctx, h.cfg.ControlRepo, after.S, limit+1)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, paginate(rows, limit, "campaigns",
		func(c store.CampaignSummary) cursor { return cursor{S: c.Name} }, toCampaign))
	return nil
}

// campaign reads the campaign the path names.
func (h *Handler) campaign(q *request) (store.CampaignSummary, error) {
	name := q.r.PathValue("name")
	if !campaignName.MatchString(name) {
		return store.CampaignSummary{}, errorf(CodeBadRequest, fmt.Sprintf("%q is not a campaign name (lower-case letters, digits and dashes)", name))
	}
	c, ok, err := h.cfg.Store.APICampaign(q.ctx, h.cfg.ControlRepo, name)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, errorf(CodeNotFound, fmt.Sprintf("no campaign named %q", name))
	}
	return c, nil
}

func (h *Handler) getCampaign(q *request) error {
	c, err := h.campaign(q)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, toCampaign(c))
	return nil
}

func (h *Handler) listVersions(q *request) error {
	c, err := h.campaign(q)
	if err != nil {
		return err
	}
	limit, after, err := q.pageParams("versions")
	if err != nil {
		return err
	}
	rows, err := h.cfg.Store.APISpecVersions(q.ctx, c.ID, int(after.N), limit+1)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, paginate(rows, limit, "versions",
		func(v store.SpecVersion) cursor { return cursor{N: int64(v.Version)} }, toSpecVersion))
	return nil
}

func (h *Handler) getVersion(q *request) error {
	c, err := h.campaign(q)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(q.r.PathValue("version"))
	if err != nil || n < 1 {
		return errorf(CodeBadRequest, fmt.Sprintf("%q is not a version number (1, 2, ...)", q.r.PathValue("version")))
	}
	v, ok, err := h.cfg.Store.APISpecVersion(q.ctx, c.ID, n)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(CodeNotFound, fmt.Sprintf("campaign %q has no version %d (latest: %d)", c.Name, n, c.LatestVersion))
	}
	writeJSON(q.w, http.StatusOK, toSpecVersion(v))
	return nil
}

func (h *Handler) listRuns(q *request) error {
	c, err := h.campaign(q)
	if err != nil {
		return err
	}
	limit, after, err := q.pageParams("runs")
	if err != nil {
		return err
	}
	rows, err := h.cfg.Store.APIRuns(q.ctx, c.ID, after.N, limit+1)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, paginate(rows, limit, "runs",
		func(r store.RunDetail) cursor { return cursor{N: r.ID} }, toRun))
	return nil
}

// run reads the run the path names.
func (h *Handler) run(q *request) (store.RunDetail, error) {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return store.RunDetail{}, errorf(CodeBadRequest, fmt.Sprintf("%q is not a run id (a positive whole number)", q.r.PathValue("id")))
	}
	d, ok, err := h.cfg.Store.APIRun(q.ctx, id)
	if err != nil {
		return d, err
	}
	if !ok {
		return d, errorf(CodeNotFound, fmt.Sprintf("no run %d", id))
	}
	return d, nil
}

func (h *Handler) getRun(q *request) error {
	d, err := h.run(q)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, toRun(d))
	return nil
}

func (h *Handler) listChangesets(q *request) error {
	d, err := h.run(q)
	if err != nil {
		return err
	}
	limit, after, err := q.pageParams("changesets")
	if err != nil {
		return err
	}
	f := store.TaskFilter{RunID: d.ID, AfterRepository: after.S, Repository: strings.TrimSpace(q.r.URL.Query().Get("repo"))}
	for _, v := range q.r.URL.Query()["state"] {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if !knownState(s) {
				return errorf(CodeBadRequest, fmt.Sprintf("unknown state %q; states: %s", s, strings.Join(taskStates, ", ")))
			}
			f.States = append(f.States, s)
		}
	}
	if len(f.Repository) > 200 {
		return errorf(CodeBadRequest, "repo is longer than 200 characters")
	}
	rows, err := h.cfg.Store.APITasks(q.ctx, f, limit+1)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, paginate(rows, limit, "changesets",
		func(t store.RepoTask) cursor { return cursor{S: t.Repository} }, toChangeset))
	return nil
}

func knownState(s string) bool {
	for _, k := range taskStates {
		if k == s {
			return true
		}
	}
	return false
}

// task reads the changeset the path names.
func (h *Handler) task(q *request) (store.RepoTask, error) {
	id, err := uuid.Parse(q.r.PathValue("id"))
	if err != nil {
		return store.RepoTask{}, errorf(CodeBadRequest, fmt.Sprintf("%q is not a changeset id (a UUID)", q.r.PathValue("id")))
	}
	t, ok, err := h.cfg.Store.APITask(q.ctx, id)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, errorf(CodeNotFound, fmt.Sprintf("no changeset %s", id))
	}
	return t, nil
}

func (h *Handler) getChangeset(q *request) error {
	t, err := h.task(q)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, toChangeset(t))
	return nil
}

func (h *Handler) getLogs(q *request) error {
	t, err := h.task(q)
	if err != nil {
		return err
	}
	out := Logs{TaskID: t.ID.String(), Repository: t.Repository, State: t.State, Error: t.Error, LogTail: t.LogTail}
	a, ok, err := h.cfg.Store.CurrentArtifact(q.ctx, t.ID, "logs")
	if err != nil {
		return err
	}
	if ok {
		out.LogsArtifact = &LogsArtifact{SizeBytes: a.SizeBytes, SHA256: a.SHA256, CreatedAt: a.CreatedAt,
			URL: Prefix + "changesets/" + t.ID.String() + "/logs/raw"}
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// getRawLogs streams the logs artifact as it was stored.
func (h *Handler) getRawLogs(q *request) error {
	t, err := h.task(q)
	if err != nil {
		return err
	}
	if h.cfg.Logs == nil {
		return errorf(CodeNotFound, "this server has no artifact storage configured; the log tail is at "+Prefix+"changesets/"+t.ID.String()+"/logs")
	}
	rc, a, ok, err := h.cfg.Logs.OpenLogs(q.ctx, t.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(CodeNotFound, fmt.Sprintf("changeset %s has no stored logs; its log tail is at %schangesets/%s/logs", t.ID, Prefix, t.ID))
	}
	defer rc.Close()
	q.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	q.w.Header().Set("Content-Length", strconv.FormatInt(a.SizeBytes, 10))
	q.w.Header().Set("X-Content-SHA256", a.SHA256)
	q.w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(q.w, rc); err != nil && !errors.Is(err, q.ctx.Err()) {
		// Headers are sent: all that is left is to cut the body short.
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (h *Handler) listAudit(q *request) error {
	limit, after, err := q.pageParams("audit")
	if err != nil {
		return err
	}
	f := store.AuditFilter{Campaign: q.r.URL.Query().Get("campaign"), Actor: q.r.URL.Query().Get("actor"), BeforeID: after.N}
	if f.Campaign != "" && !campaignName.MatchString(f.Campaign) {
		return errorf(CodeBadRequest, fmt.Sprintf("%q is not a campaign name", f.Campaign))
	}
	rows, err := h.cfg.Store.APIAudit(q.ctx, f, limit+1)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, paginate(rows, limit, "audit",
		func(e store.AuditEntry) cursor { return cursor{N: e.ID} }, toAudit))
	return nil
}

func (h *Handler) listTokens(q *request) error {
	limit, after, err := q.pageParams("tokens")
	if err != nil {
		return err
	}
	rows, err := h.cfg.Store.APITokens(q.ctx, after.N, limit+1)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, paginate(rows, limit, "tokens",
		func(t store.APIToken) cursor { return cursor{N: t.ID} }, toToken))
	return nil
}

func (h *Handler) revokeToken(q *request) error {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return errorf(CodeBadRequest, fmt.Sprintf("%q is not a token id", q.r.PathValue("id")))
	}
	t, ok, err := h.cfg.Store.RevokeAPIToken(q.ctx, id)
	if err != nil {
		h.audit(q, "token.revoke", "token:"+strconv.FormatInt(id, 10), "error", err.Error(), nil)
		return err
	}
	if !ok {
		h.audit(q, "token.revoke", "token:"+strconv.FormatInt(id, 10), "refused", "no such token", nil)
		return errorf(CodeNotFound, fmt.Sprintf("no token %d", id))
	}
	h.audit(q, "token.revoke", "token:"+strconv.FormatInt(id, 10), "accepted", "", map[string]any{"token_name": t.Name})
	writeJSON(q.w, http.StatusOK, toToken(t))
	return nil
}
