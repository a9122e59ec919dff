package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/campaignbot/campaignbot/handlers/api"
)

// Changeset states a run's progress counts as settled (nothing more to
// execute or publish) and as in flight.
var (
	settledStates  = []string{"no_changes", "published", "merged", "closed", "failed", "skipped", "superseded", "cancelled"}
	inFlightStates = []string{"pending", "queued", "running", "patch_ready", "publishing"}
	// stateOrder is the order the dashboard lists counts in.
	stateOrder = append(append([]string{}, inFlightStates...), settledStates...)
)

func settled(r api.Run) int  { return sum(r.Counts, settledStates) }
func inFlight(r api.Run) int { return sum(r.Counts, inFlightStates) }

func sum(counts map[string]int, states []string) int {
	n := 0
	for _, s := range states {
		n += counts[s]
	}
	return n
}

// bar renders a text progress bar: [#########...........]  45/100  45%.
func bar(done, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat(".", width) + "]    0/0"
	}
	done = min(max(done, 0), total)
	fill := done * width / total
	return fmt.Sprintf("[%s%s] %4d/%d %3d%%", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, total, done*100/total)
}

// countsLine lists a run's counts in lifecycle order: "3 queued, 10 published, 1 failed".
func countsLine(r api.Run) string {
	var parts []string
	seen := map[string]bool{}
	for _, s := range stateOrder {
		seen[s] = true
		if n := r.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	var other []string
	for s := range r.Counts {
		if !seen[s] && r.Counts[s] > 0 {
			other = append(other, s)
		}
	}
	sort.Strings(other)
	for _, s := range other {
		parts = append(parts, fmt.Sprintf("%d %s", r.Counts[s], s))
	}
	if len(parts) == 0 {
		return "no changesets"
	}
	return strings.Join(parts, ", ")
}

// renderStatus is the dashboard in the terminal.
func renderStatus(w io.Writer, v statusView, now time.Time) {
	r := v.Run
	fmt.Fprintf(w, "campaign %s · run %d (spec version %d) · %s\n", r.Campaign, r.ID, r.SpecVersion, strings.ToUpper(r.State))
	switch {
	case r.PausedReason != "" && r.State == "paused":
		fmt.Fprintf(w, "paused: %s (campaignbot ctl resume %s)\n", r.PausedReason, r.Campaign)
	case r.State == "awaiting_approval":
		fmt.Fprintln(w, "waiting for approval: /campaign approve on the control repository's pull request (not through the API)")
	}
	fmt.Fprintf(w, "%s settled\n", bar(settled(r), r.Total, 30))
	fmt.Fprintf(w, "%s\n", countsLine(r))
	if prs := r.Counts["published"] + r.Counts["merged"]; prs > 0 {
		fmt.Fprintf(w, "pull requests: %d open, %d merged\n", r.Counts["published"], r.Counts["merged"])
	}
	if len(v.Failed) > 0 {
		fmt.Fprintf(w, "\nfailed (%d):\n", r.Counts["failed"])
		for _, c := range v.Failed {
			fmt.Fprintf(w, "  %-40s %s  %s\n", c.Repository, c.ID, oneLine(c.Error, 70))
		}
		if r.Counts["failed"] > len(v.Failed) {
			fmt.Fprintf(w, "  … and %d more: campaignbot ctl changesets %s --state failed\n", r.Counts["failed"]-len(v.Failed), r.Campaign)
		}
		fmt.Fprintf(w, "  logs: campaignbot ctl logs TASK · retry: campaignbot ctl retry %s\n", r.Campaign)
	}
	started := "-"
	if r.StartedAt != nil {
		started = r.StartedAt.Local().Format("2006-01-02 15:04:05")
	}
	fmt.Fprintf(w, "started %s · updated %s ago\n", started, now.Sub(r.UpdatedAt).Round(time.Second))
	fmt.Fprintf(w, "as of %s\n", now.Local().Format("15:04:05"))
}

// renderPlan prints a plan preview.
func renderPlan(w io.Writer, p api.PlanPreview, show int, diff bool) {
	for _, d := range p.Diagnostics {
		fmt.Fprintln(w, d.String())
	}
	if !p.Valid {
		fmt.Fprintf(w, "%s: invalid, nothing planned\n", p.Path)
		return
	}
	switch p.Change {
	case "added":
		fmt.Fprintf(w, "campaign %s: new\n", p.Name)
	case "changed":
		fmt.Fprintf(w, "campaign %s: changes version %d\n", p.Name, p.LatestVersion)
	case "unchanged":
		fmt.Fprintf(w, "campaign %s: identical to version %d\n", p.Name, p.LatestVersion)
	}
	if diff && p.Diff != "" {
		fmt.Fprint(w, p.Diff)
		if !strings.HasSuffix(p.Diff, "\n") {
			fmt.Fprintln(w)
		}
	}
	if p.TargetsError != "" {
		fmt.Fprintf(w, "targets: GitHub refused them: %s\n", p.TargetsError)
		return
	}
	if p.Targets == nil {
		return
	}
	t := p.Targets
	cached := ""
	if t.Cached {
		cached = " (cached selection)"
	}
	fmt.Fprintf(w, "targets: %d repositor%s%s\n", t.Count, plural(t.Count, "y", "ies"), cached)
	for i, r := range t.Repositories {
		if i == show {
			fmt.Fprintf(w, "  … and %d more (-o json lists all)\n", len(t.Repositories)-show)
			break
		}
		fmt.Fprintf(w, "  %s\n", r)
	}
	if len(t.Excluded) > 0 {
		reasons := map[string]int{}
		for _, x := range t.Excluded {
			reasons[x.Reason]++
		}
		var keys []string
		for k := range reasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%d %s", reasons[k], k))
		}
		fmt.Fprintf(w, "excluded: %d (%s)\n", len(t.Excluded), strings.Join(parts, ", "))
	}
	for _, warn := range t.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

// describeAction says what an action did in one line.
func describeAction(res api.ActionResult, before string) string {
	r := res.Run
	switch {
	case res.Action == "retry" && res.Requeued == 0:
		return fmt.Sprintf("run %d of %s: no failed changesets to retry", r.ID, r.Campaign)
	case res.Action == "retry":
		return fmt.Sprintf("run %d of %s: %d changeset(s) queued again", r.ID, r.Campaign, res.Requeued)
	case !res.Changed:
		return fmt.Sprintf("run %d of %s is already %s: nothing to %s", r.ID, r.Campaign, r.State, res.Action)
	case res.Action == "cancel" && res.ClosingPRs > 0:
		return fmt.Sprintf("run %d of %s cancelled (was %s); closing %d open pull request(s)", r.ID, r.Campaign, before, res.ClosingPRs)
	}
	return fmt.Sprintf("run %d of %s: %s (was %s, now %s)", r.ID, r.Campaign, res.Action, before, r.State)
}

// progress draws a progress bar on a terminal (redrawn in place) and
// stays quiet otherwise, so scripts' stderr holds only errors.
type progress struct {
	w     io.Writer
	label string
	total int
	tty   bool
	drawn bool
}

func newProgress(w io.Writer, label string, total int) *progress {
	return &progress{w: w, label: label, total: total, tty: isTerminal(w)}
}

func (p *progress) set(n int) {
	if !p.tty || p.total <= 0 {
		return
	}
	fmt.Fprintf(p.w, "\r%s %s", p.label, bar(n, p.total, 30))
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// spinner shows that a slow request is under way, on a terminal only.
func spinner(w io.Writer, label string) (stop func()) {
	if !isTerminal(w) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		frames := `|/-\`
		for i := 0; ; i++ {
			select {
			case <-done:
				fmt.Fprint(w, "\r\x1b[K")
				return
			case <-time.After(150 * time.Millisecond):
				fmt.Fprintf(w, "\r%c %s", frames[i%len(frames)], label)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n-1]) + "…"
	}
	return s
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
