package slack_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/notify"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/store"
)

const signingSecret = "slack-signing-secret-for-tests"

func withChatOps(c *config.Config) {
	c.Slack.SigningSecret = signingSecret
	c.Slack.Users = map[string]string{"U0WANDA": "wanda", "U0RITA": "rita", "U0ALICE": "alice"}
}

// post sends a signed (or, with secret "", unsigned) Slack request.
func (w *world) post(route string, form url.Values, secret string) (int, string) {
	w.T.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, w.Server.URL+route, strings.NewReader(body))
	if err != nil {
		w.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":" + body))
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// command runs a slash command as a Slack user and returns the reply text.
func (w *world) command(user, text string) string {
	w.T.Helper()
	code, body := w.post("/slack/commands", url.Values{"command": {"/campaign"}, "text": {text}, "user_id": {user},
		"user_name": {strings.ToLower(strings.TrimPrefix(user, "U0"))}, "team_id": {"T0"}, "channel_id": {"C0"}}, signingSecret)
	if code != http.StatusOK {
		w.T.Fatalf("/campaign %s: %d %s", text, code, body)
	}
	var r struct{ Text string }
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		w.T.Fatal(err)
	}
	return r.Text
}

// press clicks a button of the run's message.
func (w *world) press(user, actionID string, runID int64) {
	w.T.Helper()
	payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":%q},"team":{"id":"T0"},"channel":{"id":"C0"},"actions":[{"block_id":"run_actions","action_id":%q,"value":"%d","type":"button"}]}`,
		user, actionID, runID)
	if code, body := w.post("/slack/actions", url.Values{"payload": {payload}}, signingSecret); code != http.StatusOK {
		w.T.Fatalf("button %s: %d %s", actionID, code, body)
	}
}

func (w *world) audit() []string {
	w.T.Helper()
	log, err := w.Store.AuditLog(w.ctx, "octo-org/platform", 100)
	if err != nil {
		w.T.Fatal(err)
	}
	var out []string
	for _, e := range log {
		if e.Details["via"] == "slack" {
			out = append(out, e.Actor+":"+e.Action+":"+e.Outcome)
		}
	}
	return out
}

func (w *world) setPerms(perms map[string]string) {
	w.T.Helper()
	for user, perm := range perms {
		if err := w.Fake.SetCollaborator("octo-org", "platform", user, perm); err != nil {
			w.T.Fatal(err)
		}
	}
}

func TestSlackPauseIsAuthorisedAndAudited(t *testing.T) {
	w := newWorld(t, nil, withChatOps)
	w.setPerms(map[string]string{"wanda": "write", "rita": "read"})
	w.merge(map[string]string{"campaigns/bump-go.yaml": fastSpec})
	w.WaitFor("the run's Slack message", func() bool { return len(w.slack.Messages(campaignsChannel)) == 1 })
	runID := w.runOf("bump-go").Run.ID

	// A forged request changes nothing.
	if code, body := w.post("/slack/commands", url.Values{"text": {"pause bump-go"}, "user_id": {"U0WANDA"}}, "forged"); code != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
		t.Fatalf("forged: %d %s", code, body)
	}
	if r := w.command("U0NOBODY", "pause bump-go"); !strings.Contains(r, "not linked") {
		t.Fatalf("unmapped user: %s", r)
	}
	if r := w.command("U0RITA", "pause bump-go"); !strings.Contains(r, "read permission on octo-org/platform; this needs write") {
		t.Fatalf("read-only user: %s", r)
	}
	if st := w.runOf("bump-go").Run.State; st != store.RunRunning {
		t.Fatalf("run is %s after refused pauses", st)
	}
	if r := w.command("U0WANDA", "pause bump-go"); !strings.Contains(r, "@wanda paused `bump-go`") {
		t.Fatalf("writer: %s", r)
	}
	if st := w.runOf("bump-go").Run.State; st != store.RunPaused {
		t.Fatalf("run is %s after the pause", st)
	}
	// The message shows it and the thread says why.
	w.WaitFor("the pause in Slack", func() bool {
		msgs := w.slack.Messages(campaignsChannel)
		replies := w.slack.Replies(campaignsChannel, msgs[0].TS)
		return strings.Contains(msgs[0].BlockText(), "[Resume]") && len(replies) == 1 && strings.Contains(replies[0].Text, "@wanda")
	})
	// The Resume button resumes it.
	w.press("U0WANDA", notify.ActionResume, runID)
	if st := w.runOf("bump-go").Run.State; st != store.RunRunning {
		t.Fatalf("run is %s after Resume", st)
	}
	if r := w.command("U0RITA", "status bump-go"); !strings.Contains(r, "bump-go") {
		t.Fatalf("status: %s", r)
	}
	want := "rita:status:accepted,wanda:resume:accepted,wanda:pause:accepted,rita:pause:refused,slack:U0NOBODY:pause:refused"
	if got := strings.Join(w.audit(), ","); got != want {
		t.Fatalf("audit = %s, want %s", got, want)
	}
	// Each entry names the campaign, so the API's (and ctl audit's)
	// campaign filter finds the Slack commands, refusals included.
	byCampaign, err := w.Store.APIAudit(w.ctx, store.AuditFilter{Campaign: "bump-go"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range byCampaign {
		if e.Details["via"] == "slack" {
			got = append(got, e.Actor+":"+e.Action+":"+e.Outcome)
			if e.Details["run_id"] != float64(runID) {
				t.Errorf("audit entry without the run: %+v", e)
			}
		}
	}
	if strings.Join(got, ",") != want {
		t.Fatalf("audit of campaign bump-go = %v, want %s", got, want)
	}
}

func TestSlackLinkIsProvedOnGitHub(t *testing.T) {
	w := newWorld(t, nil, withChatOps)
	w.setPerms(map[string]string{"octocat": "write"})
	n := w.merge(map[string]string{"campaigns/bump-go.yaml": fastSpec})
	w.WaitFor("the run's Slack message", func() bool { return len(w.slack.Messages(campaignsChannel)) == 1 })

	r := w.command("U0CAT", "link octocat")
	m := regexp.MustCompile("campaignbot link ([a-f0-9]+)").FindStringSubmatch(r)
	if m == nil {
		t.Fatalf("link reply: %s", r)
	}
	// Someone else quoting the code proves nothing.
	if _, err := w.Fake.Comment(w.ctx, "octo-org", "platform", n, "mallory", "campaignbot link "+m[1]); err != nil {
		t.Fatal(err)
	}
	if r := w.command("U0CAT", fmt.Sprintf("link confirm %d", n)); !strings.Contains(r, "No comment by @octocat") {
		t.Fatalf("confirm before octocat commented: %s", r)
	}
	if r := w.command("U0CAT", "pause bump-go"); !strings.Contains(r, "not linked") {
		t.Fatalf("pause before the link: %s", r)
	}
	if _, err := w.Fake.Comment(w.ctx, "octo-org", "platform", n, "octocat", "campaignbot link "+m[1]); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if r := w.command("U0CAT", fmt.Sprintf("link confirm %d", n)); !strings.Contains(r, "linked to @octocat") {
		t.Fatalf("confirm: %s", r)
	}
	if r := w.command("U0CAT", "pause bump-go"); !strings.Contains(r, "@octocat paused") {
		t.Fatalf("pause after the link: %s", r)
	}
	// The code worked once.
	if r := w.command("U0CAT", fmt.Sprintf("link confirm %d", n)); !strings.Contains(r, "no pending link request") {
		t.Fatalf("second confirm: %s", r)
	}
}

func TestSlackApproveNeedsAMappingAndStartsTheRun(t *testing.T) {
	w := newWorld(t, nil, withChatOps)
	w.setPerms(map[string]string{"wanda": "write", "rita": "read"})
	w.merge(map[string]string{"campaigns/gated.yaml": gatedSpec})
	w.WaitFor("the approval request in Slack", func() bool {
		msgs := w.slack.Messages(defaultChannel)
		return len(msgs) == 1 && len(w.slack.Replies(defaultChannel, msgs[0].TS)) == 1
	})
	runID := w.runOf("gated").Run.ID

	w.press("U0NOBODY", notify.ActionApprove, runID)
	w.press("U0RITA", notify.ActionApprove, runID)
	if st := w.runOf("gated").Run.State; st != store.RunAwaitingApproval {
		t.Fatalf("run is %s after refused approvals", st)
	}
	if r := w.command("U0WANDA", "approve gated"); !strings.Contains(r, "@wanda approved `gated`") || !strings.Contains(r, "running") {
		t.Fatalf("approve: %s", r)
	}
	if st := w.runOf("gated").Run.State; st != store.RunRunning {
		t.Fatalf("run is %s after the approval", st)
	}
	log, err := w.Store.AuditLog(w.ctx, "octo-org/platform:gated", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Actor+":"+e.Action+":"+e.Outcome)
	}
	if strings.Join(got, ",") != "wanda:approve:accepted,rita:approve:refused,slack:U0NOBODY:approve:refused" {
		t.Fatalf("audit = %v", got)
	}
	if log[0].Details["content_hash"] == "" || log[0].SourceURL != "slack://channel?team=T0&id=C0" {
		t.Fatalf("approval audit entry %+v", log[0])
	}
	// The message follows: the run now runs.
	w.WaitFor("the message to show the run", func() bool {
		return strings.Contains(w.slack.Messages(defaultChannel)[0].BlockText(), "running")
	})
}
