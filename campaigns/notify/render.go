package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/store"
)

// Action ids of the message's buttons; their value is the run id.
const (
	ActionPause       = "campaign_pause"
	ActionResume      = "campaign_resume"
	ActionRetryFailed = "campaign_retry_failed"
	ActionApprove     = "campaign_approve"
	ActionDashboard   = "campaign_dashboard" // a link; Slack still reports the click
)

// Message is a Slack message: blocks and the notification text.
type Message struct {
	Text   string
	Blocks []slack.Block
}

// Hash identifies what the message shows, so an unchanged one is not sent.
func (m Message) Hash() string {
	b, err := json.Marshal(struct {
		Text   string
		Blocks []slack.Block
	}{m.Text, m.Blocks})
	if err != nil {
		// Blocks built here always marshal; an impossible error must
		// still change the hash rather than freeze the message.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// View is what a run's message shows besides the run itself.
type View struct {
	Run store.RunView
	// WebURL is GitHub's web URL, e.g. https://github.com.
	WebURL string
	// Throttle says why publishing waits (nil: it does not).
	Throttle *status.Throttle
	// Frozen is the global kill switch, with its reason.
	Frozen       bool
	FrozenReason string
}

var stateEmoji = map[string]string{
	store.RunAwaitingApproval: "✋", store.RunRunning: "🏃", store.RunPaused: "⏸️",
	store.RunCompleted: "✅", store.RunCancelled: "🚫", store.RunFailed: "❌",
}

// maxFields is Block Kit's limit of fields in one section.
const maxFields = 10

// Render draws a run's message.
func Render(in View) Message {
	v := in.Run
	t := status.Count(v.Tasks)
	links := newLinks(in.WebURL, v)

	header := slack.NewHeaderBlock(plain(truncate("campaign: "+v.CampaignName, 150)))
	state := fmt.Sprintf("%s *%s*", stateEmoji[v.Run.State], v.Run.State)
	if v.PausedReason != "" && v.Run.State == store.RunPaused {
		state += " — " + escape(v.PausedReason)
	}
	intro := fmt.Sprintf("*%s* — spec version %d — run %d\n%s\nStarted from %s", escape(v.CampaignName), v.SpecVersion, v.Run.ID,
		state, links.commit())
	blocks := []slack.Block{header, section(intro)}
	blocks = append(blocks, section(fmt.Sprintf("`%s` %d/%d repositories done (%d%%)", t.Bar(20), t.Done, t.Total, t.Percent())))

	var fields []*slack.TextBlockObject
	for _, s := range t.States {
		fields = append(fields, mrkdwn(fmt.Sprintf("*%s*: %d", s, t.ByState[s])))
	}
	for len(fields) > 0 {
		n := min(len(fields), maxFields)
		blocks = append(blocks, slack.NewSectionBlock(nil, fields[:n], nil))
		fields = fields[n:]
	}

	var notes []slack.MixedElement
	if in.Throttle != nil {
		notes = append(notes, mrkdwn(fmt.Sprintf("⏳ next pull request in %s: %s", in.Throttle.NextIn, escape(in.Throttle.Reason))))
	}
	if in.Frozen {
		notes = append(notes, mrkdwn("🧊 all publishing is frozen: "+escape(in.FrozenReason)))
	}
	if len(notes) > 0 {
		blocks = append(blocks, slack.NewContextBlock("notes", notes...))
	}
	blocks = append(blocks, slack.NewActionBlock("run_actions", buttons(v, t, links)...))

	text := fmt.Sprintf("campaign %s: %s, %d/%d repositories done", v.CampaignName, v.Run.State, t.Done, t.Total)
	if n := t.ByState[store.TaskFailed]; n > 0 {
		text += fmt.Sprintf(", %d failed", n)
	}
	return Message{Text: text, Blocks: blocks}
}

func buttons(v store.RunView, t status.Tally, links links) []slack.BlockElement {
	runID := strconv.FormatInt(v.Run.ID, 10)
	out := []slack.BlockElement{slack.NewButtonBlockElement(ActionDashboard, runID, plain("View dashboard")).WithURL(links.dashboard())}
	switch v.Run.State {
	case store.RunAwaitingApproval:
		out = append(out, slack.NewButtonBlockElement(ActionApprove, runID, plain("Approve")).WithStyle(slack.StylePrimary))
	case store.RunRunning:
		out = append(out, slack.NewButtonBlockElement(ActionPause, runID, plain("Pause")).WithStyle(slack.StyleDanger))
	case store.RunPaused:
		out = append(out, slack.NewButtonBlockElement(ActionResume, runID, plain("Resume")).WithStyle(slack.StylePrimary))
	}
	if t.ByState[store.TaskFailed] > 0 && (v.Run.State == store.RunRunning || v.Run.State == store.RunPaused || v.Run.State == store.RunCompleted) {
		out = append(out, slack.NewButtonBlockElement(ActionRetryFailed, runID, plain("Retry failed")))
	}
	return out
}

// links builds GitHub web links for a run.
type links struct {
	web string
	v   store.RunView
}

func newLinks(web string, v store.RunView) links {
	if web == "" {
		web = "https://github.com"
	}
	return links{web: strings.TrimSuffix(web, "/"), v: v}
}

func (l links) commit() string {
	sha := l.v.Run.ControlSHA
	short := sha[:min(len(sha), 7)]
	return fmt.Sprintf("<%s/%s/commit/%s|%s@%s>", l.web, l.v.ControlRepo, sha, l.v.ControlRepo, short)
}

// dashboard is the run's check run, or the commit until it exists.
func (l links) dashboard() string {
	if l.v.CheckRunID != 0 {
		return fmt.Sprintf("%s/%s/runs/%d", l.web, l.v.ControlRepo, l.v.CheckRunID)
	}
	return fmt.Sprintf("%s/%s/commit/%s", l.web, l.v.ControlRepo, l.v.Run.ControlSHA)
}

// task links a task to its pull request, else its repository.
func (l links) task(t store.RepoTask) string {
	if t.PRURL != "" {
		return fmt.Sprintf("<%s|%s#%d>", t.PRURL, t.Repository, t.PRNumber)
	}
	return fmt.Sprintf("<%s/%s|%s>", l.web, t.Repository, t.Repository)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// section is a markdown section, cut to Block Kit's 3000 characters.
func section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(truncate(s, 3000)), nil, nil)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// escape makes user text inert in mrkdwn (no mentions, no links).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
