// Package status renders a run's progress — the check-run dashboard on the
// control repository (and, later, the Slack message) — and keeps it
// current with coalesced updates: however many tasks finish, at most one
// update per run per interval, and none when nothing changed.
package status

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/store"
)

// GitHub's limit on a check run's summary and text.
const maxChars = 65535

// Action is a check-run button; GitHub allows three.
type Action struct {
	Label, Description, Identifier string
}

// Dashboard is a run rendered as a check run.
type Dashboard struct {
	Name       string
	Status     string // in_progress | completed
	Conclusion string // when completed: success | failure | neutral
	Title      string
	Summary    string
	Actions    []Action
}

// Hash identifies what the dashboard shows, so an unchanged one is not sent.
func (d Dashboard) Hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s", d.Name, d.Status, d.Conclusion, d.Title, d.Summary)
	for _, a := range d.Actions {
		fmt.Fprintf(h, "\x00%s|%s|%s", a.Label, a.Description, a.Identifier)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Order in which states are listed: what needs a person first.
var stateOrder = []string{
	store.TaskFailed, "publishing", "published", "merged", "closed",
	store.TaskPatchReady, store.TaskRunning, store.TaskQueued, store.TaskPending, store.TaskNoChanges, store.TaskSkipped, "superseded",
}

func stateRank(s string) int {
	if i := slices.Index(stateOrder, s); i >= 0 {
		return i
	}
	return len(stateOrder)
}

// doneTaskStates count as done on the progress bar: final, or the pull
// request is open and the rest is up to its reviewers.
var doneTaskStates = map[string]bool{
	store.TaskFailed: true, store.TaskNoChanges: true, store.TaskSkipped: true, store.TaskCancelled: true,
	store.TaskPublished: true, store.TaskMerged: true, store.TaskClosed: true, "superseded": true,
}

// Throttle describes why publishing waits, when it does.
type Throttle struct {
	Reason string // e.g. "500/h installation limit"
	NextIn string // e.g. "after 08:42:10 UTC"
}

// Render draws the dashboard of a run.
func Render(v store.RunView, th *Throttle) Dashboard {
	d := Dashboard{Name: "campaign: " + v.CampaignName}
	counts := map[string]int{}
	done, prs := 0, 0
	for _, t := range v.Tasks {
		counts[t.State]++
		if doneTaskStates[t.State] {
			done++
		}
		if t.PRNumber > 0 || t.State == store.TaskMerged {
			prs++
		}
	}
	total := len(v.Tasks)
	switch v.Run.State {
	case store.RunCompleted:
		d.Status, d.Conclusion = "completed", "success"
		if counts[store.TaskFailed] > 0 {
			d.Conclusion = "failure"
		}
	case store.RunFailed:
		d.Status, d.Conclusion = "completed", "failure"
	case store.RunCancelled:
		d.Status, d.Conclusion = "completed", "neutral"
	default:
		d.Status = "in_progress"
	}
	d.Title = fmt.Sprintf("%s: %d/%d repositories done", v.Run.State, done, total)
	if prs > 0 {
		// An open pull request is done for the rollout, not for the
		// campaign: the headline also says how many have landed.
		d.Title += fmt.Sprintf(", %d/%d pull requests merged", counts[store.TaskMerged], prs)
	}
	if v.VerifiedAt != nil {
		// Done means landed: the headline is where the change is now in the
		// default branch, whoever merged it (reconciler verification).
		d.Title = fmt.Sprintf("%s: landed in %d/%d repositories", v.Run.State, v.Landed, total)
	}
	if n := counts[store.TaskFailed]; n > 0 {
		d.Title += fmt.Sprintf(", %d failed", n)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "### Campaign `%s` — spec version %d — run %d\n\n", v.CampaignName, v.SpecVersion, v.Run.ID)
	fmt.Fprintf(&b, "**State:** %s", v.Run.State)
	if v.PausedReason != "" {
		fmt.Fprintf(&b, " (%s)", v.PausedReason)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "`%s` %d/%d (%d%%)\n\n", bar(done, total, 30), done, total, percent(done, total))
	if th != nil {
		fmt.Fprintf(&b, "⏳ next PR %s: %s\n\n", th.NextIn, th.Reason)
	}
	if v.Run.State == store.RunAwaitingApproval {
		fmt.Fprintf(&b, "🔒 This spec version was merged without the approvals it needs, so nothing runs yet. "+
			"Someone with write access to `%s` (or in a team of the spec's `owners`) approves it with a commit comment "+
			"`/campaign approve %s` on the merge commit, or with the **Approve** button of this check run.\n\n", v.ControlRepo, v.CampaignName)
	}
	if waves := maxWave(v.Tasks); waves > 0 {
		fmt.Fprintf(&b, "**Rollout:** wave %d of %d\n\n", v.CurrentWave+1, waves+1)
	}
	b.WriteString("| state | repositories |\n|---|---|\n")
	states := make([]string, 0, len(counts))
	for s := range counts {
		states = append(states, s)
	}
	slices.SortFunc(states, func(a, b string) int { return cmp.Compare(stateRank(a), stateRank(b)) })
	for _, s := range states {
		fmt.Fprintf(&b, "| %s | %d |\n", s, counts[s])
	}
	b.WriteString("\n")
	writeTable(&b, v.Tasks, v.Tracking)

	d.Summary = b.String()
	d.Actions = actions(v)
	return d
}

func writeTable(b *strings.Builder, tasks []store.RepoTask, tracking map[uuid.UUID]store.Tracking) {
	sorted := slices.Clone(tasks)
	slices.SortStableFunc(sorted, func(x, y store.RepoTask) int {
		if c := cmp.Compare(stateRank(x.State), stateRank(y.State)); c != 0 {
			return c
		}
		return strings.Compare(x.Repository, y.Repository)
	})
	b.WriteString("| repository | state | pull request | note |\n|---|---|---|---|\n")
	// Leave room for the "and N more" line inside GitHub's limit.
	budget := maxChars - b.Len() - 200
	for i, t := range sorted {
		pr := ""
		if t.PRURL != "" {
			pr = fmt.Sprintf("[#%d](%s)", t.PRNumber, t.PRURL)
		}
		note := firstLine(t.Error)
		if note == "" {
			note = trackingNote(tracking[t.ID])
		}
		row := fmt.Sprintf("| %s | %s | %s | %s |\n", t.Repository, t.State, pr, escape(note))
		if len(row) > budget {
			fmt.Fprintf(b, "\n… and %d more\n", len(sorted)-i)
			return
		}
		budget -= len(row)
		b.WriteString(row)
	}
}

func actions(v store.RunView) []Action {
	switch v.Run.State {
	case store.RunAwaitingApproval:
		return []Action{{Label: "Approve", Description: "Approve this spec version", Identifier: "approve"}}
	case store.RunRunning:
		return append([]Action{{Label: "Pause", Description: "Stop publishing new PRs", Identifier: "pause"}}, retry(v)...)
	case store.RunPaused:
		return append([]Action{{Label: "Resume", Description: "Publish again", Identifier: "resume"}}, retry(v)...)
	}
	return retry(v)
}

func retry(v store.RunView) []Action {
	for _, t := range v.Tasks {
		if t.State == store.TaskFailed {
			return []Action{{Label: "Retry failed", Description: "Run the failed repositories again", Identifier: "retry_failed"}}
		}
	}
	return nil
}

func maxWave(tasks []store.RepoTask) int {
	m := 0
	for _, t := range tasks {
		m = max(m, t.Wave)
	}
	return m
}

func bar(done, total, width int) string {
	if total == 0 {
		return strings.Repeat("░", width)
	}
	n := done * width / total
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}

func percent(done, total int) int {
	if total == 0 {
		return 100
	}
	return done * 100 / total
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func escape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
