package notify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/store"
)

// Notice is a thread reply under the run's message, posted once under Key.
type Notice struct {
	Key     string
	Message Message
}

// seen is what the run's message showed last time.
type seen struct {
	exists   bool
	runState string
	frozen   bool
	posted   map[string]bool
}

// count returns how many notices with this prefix were posted: repeated
// events (a second pause) get keys of their own.
func (s seen) count(prefix string) int {
	n := 0
	for k := range s.posted {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// maxListed failed repositories are linked in the completion summary.
const maxListed = 20

// notices lists what must be told in the thread now and was not yet.
func notices(in View, owners []string, before seen) []Notice {
	v := in.Run
	l := newLinks(in.WebURL, v)
	var out []Notice
	add := func(key, text string) {
		if !before.posted[key] {
			out = append(out, Notice{Key: key, Message: Message{Text: text, Blocks: []slack.Block{section(text)}}})
		}
	}

	if v.Run.State == store.RunAwaitingApproval {
		who := fmt.Sprintf("anyone with write, maintain or admin permission on %s", v.ControlRepo)
		if len(owners) > 0 {
			who += ", or " + strings.Join(owners, ", ") + " (the spec's owners)"
		}
		add("approval", fmt.Sprintf("✋ *Approval needed* for `%s` spec version %d. Who can approve: %s — not the author of the spec's pull request. "+
			"Comment `/campaign approve %s` on the pull request, press *Approve*, or run `/campaign approve %s` here once your Slack user is linked to GitHub.",
			escape(v.CampaignName), v.SpecVersion, escape(who), v.CampaignName, v.CampaignName))
	}

	// A pause is told when the run enters paused (every time it does).
	if v.Run.State == store.RunPaused && before.runState != store.RunPaused {
		reason := v.PausedReason
		if reason == "" {
			reason = "no reason given"
		}
		headline := "⏸️ *Run paused*"
		switch low := strings.ToLower(reason); {
		case strings.Contains(low, "failure rate"), strings.Contains(low, "failurerate"), strings.Contains(low, "paused automatically"):
			headline = "🛑 *Auto-paused on the failure rate*"
		case strings.Contains(low, "wave"):
			headline = "🐤 *Canary wave failing — run paused*"
		}
		add(fmt.Sprintf("paused:%d", before.count("paused:")+1), fmt.Sprintf("%s: %s", headline, escape(reason)))
	}

	// A failing canary: failures in a wave that later waves wait for.
	lastWave := 0
	for _, t := range v.Tasks {
		lastWave = max(lastWave, t.Wave)
	}
	failed := map[int][]store.RepoTask{}
	for _, t := range v.Tasks {
		if t.State == store.TaskFailed && t.Wave < lastWave {
			failed[t.Wave] = append(failed[t.Wave], t)
		}
	}
	for w := range lastWave {
		if ts := failed[w]; len(ts) > 0 {
			add(fmt.Sprintf("wave_failing:%d", w), fmt.Sprintf("🐤 *Canary wave %d is failing*: %d failed before wave %d starts — %s",
				w+1, len(ts), w+2, listTasks(l, ts)))
		}
	}

	if in.Frozen != before.frozen && (before.exists || in.Frozen) {
		if in.Frozen {
			add(fmt.Sprintf("frozen:%d", before.count("frozen:")+1), "🧊 *Kill switch on*: all publishing is frozen — "+escape(in.FrozenReason))
		} else {
			add(fmt.Sprintf("unfrozen:%d", before.count("unfrozen:")+1), "🔥 *Kill switch off*: publishing resumes.")
		}
	}

	switch v.Run.State {
	case store.RunCompleted, store.RunCancelled, store.RunFailed:
		add("completed", summary(v, l))
	}
	return out
}

func summary(v store.RunView, l links) string {
	t := status.Count(v.Tasks)
	var b strings.Builder
	fmt.Fprintf(&b, "%s *Run %s*: %d repositories — merged %d, closed %d, failed %d", stateEmoji[v.Run.State], v.Run.State,
		t.Total, t.ByState["merged"], t.ByState["closed"], t.ByState[store.TaskFailed])
	for _, s := range t.States {
		if s != "merged" && s != "closed" && s != store.TaskFailed {
			fmt.Fprintf(&b, ", %s %d", s, t.ByState[s])
		}
	}
	b.WriteString(".")
	var failed []store.RepoTask
	for _, task := range v.Tasks {
		if task.State == store.TaskFailed {
			failed = append(failed, task)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\nFailed: " + listTasks(l, failed))
	}
	fmt.Fprintf(&b, "\n<%s|Dashboard>", l.dashboard())
	return b.String()
}

func listTasks(l links, ts []store.RepoTask) string {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b store.RepoTask) int { return strings.Compare(a.Repository, b.Repository) })
	parts := make([]string, 0, min(len(ts), maxListed)+1)
	for i, t := range ts {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(ts)-maxListed))
			break
		}
		parts = append(parts, l.task(t))
	}
	return strings.Join(parts, ", ")
}
