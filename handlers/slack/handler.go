package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
	slackgo "github.com/slack-go/slack"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
	"github.com/campaignbot/campaignbot/campaigns/notify"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// Routes of the Slack app's request URLs.
const (
	CommandsRoute = "/slack/commands"
	ActionsRoute  = "/slack/actions"
)

// Control changes runs (orchestrator.Control); it does not authorise.
type Control interface {
	Pause(ctx context.Context, runID int64, actor, reason string) (bool, error)
	Resume(ctx context.Context, runID int64, actor string) (bool, error)
	Retry(ctx context.Context, runID int64, actor, repository string) (int, error)
	StartAwaiting(ctx context.Context, runID int64, actor string) (store.Run, error)
}

// Store is what the Slack handlers read and write.
type Store interface {
	CampaignByName(ctx context.Context, controlRepo, name string) (store.Campaign, bool, error)
	Campaigns(ctx context.Context, controlRepo string) ([]store.Campaign, error)
	LatestRun(ctx context.Context, campaignID int64) (store.Run, bool, error)
	LoadRunView(ctx context.Context, runID int64) (store.RunView, error)
	RunSpecVersion(ctx context.Context, runID int64) (store.SpecVersion, error)
	AddApproval(ctx context.Context, a store.Approval) (bool, error)
	Audit(ctx context.Context, e store.AuditEntry) error
	LinkStore
}

// GitHub reads authority and comments from GitHub.
type GitHub interface {
	For(ctx context.Context, installationID int64) (chatops.Permissions, error)
	Comments(ctx context.Context, repo string, number int) ([]Comment, error)
}

// Config configures the handlers.
type Config struct {
	SigningSecret string
	ControlRepo   string
	// Users maps Slack user ids to GitHub logins, trusted as configured.
	Users  map[string]string
	Policy chatops.Policy
	// Responder posts to Slack's response_url (nil: http.DefaultClient).
	Responder *http.Client
}

// Handler serves the slash command and the message buttons.
type Handler struct {
	cfg     Config
	store   Store
	control Control
	github  GitHub
}

// New returns the Slack handler. Control refreshes the run's dashboard
// and Slack message itself after a change.
func New(cfg Config, st Store, control Control, gh GitHub) *Handler {
	if cfg.Responder == nil {
		cfg.Responder = http.DefaultClient
	}
	return &Handler{cfg: cfg, store: st, control: control, github: gh}
}

// reply is a slash-command or response_url answer.
type reply struct {
	ResponseType    string `json:"response_type"` // ephemeral | in_channel
	Text            string `json:"text"`
	ReplaceOriginal bool   `json:"replace_original"`
}

func private(format string, args ...any) reply {
	return reply{ResponseType: "ephemeral", Text: fmt.Sprintf(format, args...)}
}

func public(format string, args ...any) reply {
	return reply{ResponseType: "in_channel", Text: fmt.Sprintf(format, args...)}
}

// request is one command from Slack, however it came.
type request struct {
	userID, userName, teamID, channelID string
	verb, args                          string
	runID                               int64 // a button names its run
}

func (rq request) source() string {
	return fmt.Sprintf("slack://channel?team=%s&id=%s", rq.teamID, rq.channelID)
}

// verifiedForm reads a request Slack signed as a form; it has answered
// (401 or 400) when ok is false.
func (h *Handler) verifiedForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	body, ok := verified(w, r, h.cfg.SigningSecret)
	if !ok {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body is not a form"})
		return nil, false
	}
	return form, true
}

// Commands serves POST /slack/commands.
func (h *Handler) Commands(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verifiedForm(w, r)
	if !ok {
		return
	}
	verb, args, _ := strings.Cut(strings.TrimSpace(form.Get("text")), " ")
	rq := request{userID: form.Get("user_id"), userName: form.Get("user_name"), teamID: form.Get("team_id"),
		channelID: form.Get("channel_id"), verb: strings.ToLower(verb), args: strings.TrimSpace(args)}
	writeJSON(w, http.StatusOK, h.dispatch(r.Context(), rq))
}

// Actions serves POST /slack/actions: the run message's buttons.
func (h *Handler) Actions(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verifiedForm(w, r)
	if !ok {
		return
	}
	var cb slackgo.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "payload is not an interaction"})
		return
	}
	if cb.Type != slackgo.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		w.WriteHeader(http.StatusOK) // other interactions are not ours
		return
	}
	a := cb.ActionCallback.BlockActions[0]
	verb := map[string]string{notify.ActionPause: "pause", notify.ActionResume: "resume",
		notify.ActionRetryFailed: "retry", notify.ActionApprove: "approve"}[a.ActionID]
	if verb == "" {
		w.WriteHeader(http.StatusOK) // View dashboard is a link: nothing to do
		return
	}
	runID, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil || runID <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "button value is not a run id"})
		return
	}
	rq := request{userID: cb.User.ID, userName: cb.User.Name, teamID: cb.Team.ID, channelID: cb.Channel.ID, verb: verb, runID: runID}
	out := h.dispatch(r.Context(), rq)
	// Slack ignores the body for buttons: the answer goes to response_url.
	if cb.ResponseURL != "" {
		h.respond(r.Context(), cb.ResponseURL, out)
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) respond(ctx context.Context, responseURL string, out reply) {
	u, err := url.Parse(responseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return
	}
	b, _ := json.Marshal(out)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, strings.NewReader(string(b)))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.cfg.Responder.Do(req)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not answer a Slack button")
		return
	}
	resp.Body.Close()
}

const usage = "Usage: `/campaign status|pause|resume|approve [name]`, `/campaign retry [name] [owner/repo]`, " +
	"`/campaign link <github-login>` then `/campaign link confirm <pr-number>`."

func (h *Handler) dispatch(ctx context.Context, rq request) reply {
	switch rq.verb {
	case "status":
		return h.status(ctx, rq)
	case "pause", "resume", "retry", "approve":
		return h.control1(ctx, rq)
	case "link":
		return h.link(ctx, rq)
	case "", "help":
		return private("%s", usage)
	}
	h.audit(ctx, rq, "slack:"+rq.userID, rq.verb, h.cfg.ControlRepo, "refused", "unknown command", nil)
	return private("Unknown command `%s`. %s", rq.verb, usage)
}

// login maps the Slack user to a GitHub login: the configured table
// first, then links proved with /campaign link.
func (h *Handler) login(ctx context.Context, slackUserID string) (string, bool, error) {
	if l, ok := h.cfg.Users[slackUserID]; ok && l != "" {
		return l, true, nil
	}
	return h.store.SlackLink(ctx, slackUserID)
}

// resolve finds the run a command is about: the button's, else the named
// campaign's latest (the only open campaign when no name is given).
func (h *Handler) resolve(ctx context.Context, rq request, name string) (store.RunView, string, error) {
	if rq.runID != 0 {
		v, err := h.store.LoadRunView(ctx, rq.runID)
		if err != nil {
			return v, "", err
		}
		if v.ControlRepo != h.cfg.ControlRepo {
			return store.RunView{}, fmt.Sprintf("Run %d is not a run of %s.", rq.runID, h.cfg.ControlRepo), nil
		}
		return v, "", nil
	}
	if name == "" {
		all, err := h.store.Campaigns(ctx, h.cfg.ControlRepo)
		if err != nil {
			return store.RunView{}, "", err
		}
		var open []string
		for _, c := range all {
			if c.ClosedAt == nil {
				open = append(open, c.Name)
			}
		}
		if len(open) != 1 {
			return store.RunView{}, fmt.Sprintf("Name the campaign: one of %s.", orNone(open)), nil
		}
		name = open[0]
	}
	c, ok, err := h.store.CampaignByName(ctx, h.cfg.ControlRepo, name)
	if err != nil {
		return store.RunView{}, "", err
	}
	if !ok {
		return store.RunView{}, fmt.Sprintf("No campaign `%s` in %s.", name, h.cfg.ControlRepo), nil
	}
	run, ok, err := h.store.LatestRun(ctx, c.ID)
	if err != nil {
		return store.RunView{}, "", err
	}
	if !ok {
		// The campaign is known: the refusal is audited under its name.
		return store.RunView{CampaignName: c.Name}, fmt.Sprintf("Campaign `%s` has no run yet.", name), nil
	}
	v, err := h.store.LoadRunView(ctx, run.ID)
	return v, "", err
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "(no open campaign)"
	}
	return "`" + strings.Join(names, "`, `") + "`"
}

func (h *Handler) status(ctx context.Context, rq request) reply {
	name, _, _ := strings.Cut(rq.args, " ")
	v, problem, err := h.resolve(ctx, rq, name)
	actor := h.actorName(ctx, rq)
	if err != nil {
		h.audit(ctx, rq, actor, "status", h.cfg.ControlRepo, "error", err.Error(), nil)
		return private("Could not read the campaign: %v", err)
	}
	if problem != "" {
		h.audit(ctx, rq, actor, "status", h.cfg.ControlRepo, "refused", problem, runDetails(v))
		return private("%s", problem)
	}
	m := notify.Render(notify.View{Run: v})
	h.audit(ctx, rq, actor, "status", target(v), "accepted", "", runDetails(v))
	return private("%s", m.Text)
}

func (h *Handler) actorName(ctx context.Context, rq request) string {
	if l, ok, err := h.login(ctx, rq.userID); err == nil && ok {
		return l
	}
	return "slack:" + rq.userID
}

func target(v store.RunView) string {
	return fmt.Sprintf("%s:%s#run-%d", v.ControlRepo, v.CampaignName, v.Run.ID)
}

// control1 authorises and runs pause, resume, retry and approve.
func (h *Handler) control1(ctx context.Context, rq request) reply {
	words := strings.Fields(rq.args)
	name, rest := "", words
	if len(words) > 0 && !strings.Contains(words[0], "/") {
		name, rest = words[0], words[1:]
	}
	login, linked, err := h.login(ctx, rq.userID)
	actor := "slack:" + rq.userID
	if linked {
		actor = login
	}
	if err != nil {
		h.audit(ctx, rq, actor, rq.verb, h.cfg.ControlRepo, "error", err.Error(), nil)
		return private("Could not read your Slack-GitHub link: %v", err)
	}
	v, problem, err := h.resolve(ctx, rq, name)
	if err != nil {
		h.audit(ctx, rq, actor, rq.verb, h.cfg.ControlRepo, "error", err.Error(), nil)
		return private("Could not read the campaign: %v", err)
	}
	if problem != "" {
		h.audit(ctx, rq, actor, rq.verb, h.cfg.ControlRepo, "refused", problem, runDetails(v))
		return private("%s", problem)
	}
	tgt := target(v)
	if !linked {
		reason := "your Slack user is not linked to a GitHub login"
		h.audit(ctx, rq, actor, rq.verb, tgt, "refused", reason, runDetails(v))
		return private("❌ %s: run `/campaign link <github-login>` first (or ask an operator to add you to slack.users).", reason)
	}
	sv, err := h.store.RunSpecVersion(ctx, v.Run.ID)
	if err != nil {
		h.audit(ctx, rq, actor, rq.verb, tgt, "error", err.Error(), runDetails(v))
		return private("Could not read the spec: %v", err)
	}
	var owners []string
	if s, diags := spec.Parse("spec.yaml", []byte(sv.YAML)); s != nil && !diags.HasErrors() {
		owners = s.Owners
	}
	perms, err := h.github.For(ctx, v.Run.InstallationID)
	if err != nil {
		h.audit(ctx, rq, actor, rq.verb, tgt, "error", err.Error(), runDetails(v))
		return private("Could not reach GitHub: %v", err)
	}
	who := chatops.Actor{Login: login}
	var d chatops.Decision
	if rq.verb == "approve" {
		d, err = chatops.CanApprove(ctx, perms, h.cfg.Policy, v.ControlRepo, owners, who, sv.Author)
	} else {
		d, err = chatops.CanControl(ctx, perms, v.ControlRepo, owners, who)
	}
	if err != nil {
		h.audit(ctx, rq, actor, rq.verb, tgt, "error", err.Error(), runDetails(v))
		return private("Could not check your permission on GitHub: %v", err)
	}
	if !d.Allowed {
		h.audit(ctx, rq, actor, rq.verb, tgt, "refused", d.Reason, runDetails(v))
		return private("❌ %s", d.Reason)
	}
	out, details, err := h.apply(ctx, rq.verb, v, sv, login, rest, rq)
	if err != nil {
		h.audit(ctx, rq, actor, rq.verb, tgt, "error", err.Error(), details)
		return private("❌ %s failed: %v", rq.verb, err)
	}
	details["granted_by"] = d.Reason
	h.audit(ctx, rq, actor, rq.verb, tgt, "accepted", out.Text, details)
	return out
}

func (h *Handler) apply(ctx context.Context, verb string, v store.RunView, sv store.SpecVersion, login string, rest []string, rq request) (reply, map[string]any, error) {
	details := runDetails(v)
	switch verb {
	case "pause":
		changed, err := h.control.Pause(ctx, v.Run.ID, login, "from Slack")
		if err != nil {
			return reply{}, details, err
		}
		details["changed"] = changed
		if !changed {
			return private("`%s` run %d is %s: nothing to pause.", v.CampaignName, v.Run.ID, v.Run.State), details, nil
		}
		return public("⏸️ @%s paused `%s` (run %d): no new pull requests until it is resumed.", login, v.CampaignName, v.Run.ID), details, nil
	case "resume":
		changed, err := h.control.Resume(ctx, v.Run.ID, login)
		if err != nil {
			return reply{}, details, err
		}
		details["changed"] = changed
		if !changed {
			return private("`%s` run %d is %s: nothing to resume.", v.CampaignName, v.Run.ID, v.Run.State), details, nil
		}
		return public("▶️ @%s resumed `%s` (run %d).", login, v.CampaignName, v.Run.ID), details, nil
	case "retry":
		repo := ""
		if len(rest) > 0 {
			repo = rest[0]
		}
		n, err := h.control.Retry(ctx, v.Run.ID, login, repo)
		if err != nil {
			return reply{}, details, err
		}
		details["requeued"], details["repository"] = n, repo
		if n == 0 {
			return private("`%s` run %d has no failed repositories to retry.", v.CampaignName, v.Run.ID), details, nil
		}
		return public("🔁 @%s queued %d failed repositories of `%s` again.", login, n, v.CampaignName), details, nil
	case "approve":
		if v.Run.State != store.RunAwaitingApproval {
			return private("`%s` run %d is %s: it does not wait for approval.", v.CampaignName, v.Run.ID, v.Run.State), details, nil
		}
		added, err := h.store.AddApproval(ctx, store.Approval{ControlRepo: v.ControlRepo, CampaignName: v.CampaignName,
			ContentHash: sv.ContentHash, Approver: login, SourceURL: rq.source()})
		if err != nil {
			return reply{}, details, err
		}
		details["content_hash"], details["added"] = sv.ContentHash, added
		run, err := h.control.StartAwaiting(ctx, v.Run.ID, login)
		if err != nil {
			return reply{}, details, err
		}
		if run.State == store.RunAwaitingApproval {
			return public("✅ @%s approved `%s` spec version %d; it waits for more approvals.", login, v.CampaignName, v.SpecVersion), details, nil
		}
		return public("✅ @%s approved `%s` spec version %d: run %d is %s.", login, v.CampaignName, v.SpecVersion, run.ID, run.State), details, nil
	}
	return reply{}, details, fmt.Errorf("unknown command %q", verb)
}

// runDetails name the campaign (and run) a command was about, so the
// audit log's campaign filter (GET /api/v1/audit?campaign=) finds it.
func runDetails(v store.RunView) map[string]any {
	d := map[string]any{}
	if v.CampaignName != "" {
		d["campaign"] = v.CampaignName
	}
	if v.Run.ID != 0 {
		d["run_id"] = v.Run.ID
	}
	return d
}

func (h *Handler) audit(ctx context.Context, rq request, actor, action, tgt, outcome, reason string, details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	details["via"], details["slack_user"], details["slack_user_name"] = "slack", rq.userID, rq.userName
	if err := h.store.Audit(ctx, store.AuditEntry{Actor: actor, Action: action, Target: tgt, Outcome: outcome, Reason: reason,
		SourceURL: rq.source(), Details: details}); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("could not write the audit log")
	}
}
