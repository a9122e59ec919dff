package orchestrator

import (
	"fmt"
	"strings"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// GitHub's limits on a check run's output.
const (
	maxOutputChars   = 65535
	shownRepos       = 50
	shownExclusions  = 50
	maxDiffChars     = 20000
	CheckNamePrefix  = "campaign plan: "
	conclusionOK     = "success"
	conclusionFailed = "failure"
	conclusionInfo   = "neutral"
)

// Annotation points at a line of a spec file (a check-run annotation).
type Annotation struct {
	Path                   string
	StartLine, EndLine     int
	StartColumn, EndColumn int
	Level                  string // failure | warning | notice
	Title, Message         string
}

// CheckOutput is a plan rendered as a check run.
type CheckOutput struct {
	Name        string
	Conclusion  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
}

// CheckName is the check run's name for a spec.
func (sp SpecPlan) CheckName() string {
	if sp.Name != "" && sp.NameClash {
		return CheckNamePrefix + sp.Name + " (" + sp.Path + ")"
	}
	if sp.Name != "" {
		return CheckNamePrefix + sp.Name
	}
	return CheckNamePrefix + sp.Path
}

// Render turns a plan into what the check run shows. A valid spec
// concludes success (the plan is sound; approval is a separate step the
// summary explains), an invalid one failure with an annotation on every
// problem, a removed one neutral.
func Render(sp SpecPlan) CheckOutput {
	out := CheckOutput{Name: sp.CheckName()}
	var b strings.Builder
	switch {
	case sp.Change == Removed:
		out.Conclusion = conclusionInfo
		out.Title = fmt.Sprintf("%s will be closed", displayName(sp))
		fmt.Fprintf(&b, "This pull request removes `%s`. When it merges, campaign `%s` is closed: no new runs start.\n", sp.Path, displayName(sp))
	case !sp.Parsed.Valid():
		out.Conclusion = conclusionFailed
		errs := sp.Parsed.Diagnostics.Errors()
		out.Title = fmt.Sprintf("%d problem(s) in %s", len(errs), sp.Path)
		fmt.Fprintf(&b, "### ❌ `%s` is not a valid campaign spec\n\n", sp.Path)
		b.WriteString("Fix these and push again; the check updates on every push. `campaignbot ctl validate` checks a spec offline.\n\n")
		for _, d := range sp.Parsed.Diagnostics {
			fmt.Fprintf(&b, "- `%s:%d:%d` %s: %s\n", d.File, d.Line, d.Column, d.Severity, d.Message)
		}
	case sp.TargetsErr != nil:
		out.Conclusion = conclusionFailed
		out.Title = "targets could not be resolved"
		fmt.Fprintf(&b, "### ❌ `%s`: targets could not be resolved\n\n%s\n", displayName(sp), sp.TargetsErr.Error())
	default:
		out.Conclusion = conclusionOK
		n := -1
		if sp.Targets != nil {
			n = len(sp.Targets.Repositories)
		}
		if n >= 0 {
			out.Title = fmt.Sprintf("%d repositories match", n)
		} else {
			out.Title = "valid spec"
		}
		writeValidSummary(&b, sp, n)
	}
	out.Annotations = annotations(sp)
	out.Summary = truncate(b.String(), maxOutputChars)
	if sp.Diff != "" {
		out.Text = truncate("#### Changes to the spec\n\n```diff\n"+truncate(sp.Diff, maxDiffChars)+"\n```\n", maxOutputChars)
	}
	return out
}

func displayName(sp SpecPlan) string {
	if sp.Name != "" {
		return sp.Name
	}
	return sp.Path
}

func writeValidSummary(b *strings.Builder, sp SpecPlan, n int) {
	s := sp.Parsed.Spec
	if n >= 0 {
		fmt.Fprintf(b, "### ✅ `%s` — %d repositories match\n\n", s.Name, n)
	} else {
		fmt.Fprintf(b, "### ✅ `%s` is valid\n\n", s.Name)
	}
	if s.Description != "" {
		fmt.Fprintf(b, "> %s\n\n", strings.ReplaceAll(strings.TrimSpace(s.Description), "\n", "\n> "))
	}
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(b, "| Targets | %s |\n", describeTargets(s.Targets))
	var steps []string
	for i, st := range s.Steps {
		img := st.Image
		if img == "" {
			img = "default image"
		}
		steps = append(steps, fmt.Sprintf("%d. `%s` (%s, timeout %s)", i+1, st.Name, img, st.Timeout))
	}
	fmt.Fprintf(b, "| Steps | %s |\n", strings.Join(steps, "<br>"))
	if len(s.Changes.Allow) > 0 {
		fmt.Fprintf(b, "| Allowed changes | `%s` |\n", strings.Join(s.Changes.Allow, "`, `"))
	}
	pr := fmt.Sprintf("%q", s.PullRequest.Title)
	if s.PullRequest.Draft {
		pr += " (draft)"
	}
	if len(s.PullRequest.Labels) > 0 {
		pr += " · labels: " + strings.Join(s.PullRequest.Labels, ", ")
	}
	fmt.Fprintf(b, "| Pull request | %s |\n", escapeCell(pr))
	var waves []string
	for _, w := range s.Rollout.Waves {
		waves = append(waves, w.String())
	}
	fmt.Fprintf(b, "| Rollout | approval %s · at most %d open PRs · %d PRs/hour · waves %s · pause at %.0f%% failures |\n",
		s.Rollout.Approval, s.Rollout.MaxOpenPRs, s.Rollout.PRsPerHour, strings.Join(waves, ", "), 100*s.Rollout.PauseOnFailureRate)
	fmt.Fprintf(b, "| Drift | base changed: %s · human edits: %s |\n", s.Drift.BaseChanged, s.Drift.HumanEdits)
	if s.Notify.Slack != "" {
		fmt.Fprintf(b, "| Slack | %s |\n", s.Notify.Slack)
	}
	b.WriteString("\n")
	if sp.VoidedApprovals > 0 {
		fmt.Fprintf(b, "⚠️ %d approval(s) of an earlier revision were voided by a later push: approvals cover exact content.\n\n", sp.VoidedApprovals)
	}
	if s.Rollout.Approval == spec.ApprovalRequired {
		need := max(sp.RequiredApprovals, 1)
		if len(sp.Approvers) >= need {
			fmt.Fprintf(b, "**Approved** by @%s: the run starts when this merges.\n\n", strings.Join(sp.Approvers, ", @"))
		} else {
			if len(sp.Approvers) > 0 {
				fmt.Fprintf(b, "Approved by @%s (%d of %d needed).\n\n", strings.Join(sp.Approvers, ", @"), len(sp.Approvers), need)
			}
			fmt.Fprintf(b, "**Approval required.** After review, someone with write access to this repository (or in `owners`) comments `/campaign approve %s`. The approval covers exactly this content; a later push voids it.\n\n", s.Name)
		}
	} else {
		b.WriteString("**No approval needed** (`rollout.approval: none`): a run starts when this merges.\n\n")
	}
	for _, w := range sp.Parsed.Diagnostics.Warnings() {
		fmt.Fprintf(b, "⚠️ `%s:%d:%d` %s\n\n", w.File, w.Line, w.Column, w.Message)
	}
	if sp.Targets == nil {
		return
	}
	t := sp.Targets
	for _, w := range t.Warnings {
		fmt.Fprintf(b, "⚠️ %s\n\n", w)
	}
	fmt.Fprintf(b, "#### Repositories (%d)\n\n", len(t.Repositories))
	for i, r := range t.Repositories {
		if i == shownRepos {
			fmt.Fprintf(b, "- … and %d more\n", len(t.Repositories)-shownRepos)
			break
		}
		fmt.Fprintf(b, "- %s\n", r)
	}
	if len(t.Excluded) > 0 {
		fmt.Fprintf(b, "\n#### Excluded (%d)\n\n| repository | reason |\n|---|---|\n", len(t.Excluded))
		for i, e := range t.Excluded {
			if i == shownExclusions {
				fmt.Fprintf(b, "| … and %d more | |\n", len(t.Excluded)-shownExclusions)
				break
			}
			fmt.Fprintf(b, "| %s | %s |\n", e.FullName, escapeCell(e.Reason))
		}
	}
	if t.Cached {
		b.WriteString("\n<sub>Targets from the selection cache.</sub>\n")
	}
}

func describeTargets(t spec.Targets) string {
	var parts []string
	if t.Query != "" {
		parts = append(parts, fmt.Sprintf("search `%s`", t.Query))
	}
	if len(t.Repositories) > 0 {
		parts = append(parts, fmt.Sprintf("%d listed", len(t.Repositories)))
	}
	if len(t.Exclude) > 0 {
		parts = append(parts, fmt.Sprintf("excluding `%s`", strings.Join(t.Exclude, "`, `")))
	}
	if len(t.Require.Files) > 0 {
		parts = append(parts, fmt.Sprintf("requiring files `%s`", strings.Join(t.Require.Files, "`, `")))
	}
	if len(t.Require.Topics) > 0 {
		parts = append(parts, fmt.Sprintf("requiring topics `%s`", strings.Join(t.Require.Topics, "`, `")))
	}
	return escapeCell(strings.Join(parts, " · "))
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// annotations turns diagnostics into check-run annotations at their exact
// position; a diagnostic without one points at line 1.
func annotations(sp SpecPlan) []Annotation {
	var out []Annotation
	for _, d := range sp.Parsed.Diagnostics {
		a := Annotation{Path: sp.Path, StartLine: max(d.Line, 1), EndLine: max(d.Line, 1), Level: "failure", Message: d.Message, Title: "invalid campaign spec"}
		if d.Severity == spec.Warning {
			a.Level, a.Title = "warning", "campaign spec warning"
		}
		if d.Field != "" {
			a.Title += ": " + d.Field
		}
		if d.Column > 0 { // GitHub takes columns only on single-line annotations
			a.StartColumn, a.EndColumn = d.Column, d.Column
		}
		out = append(out, a)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const note = "\n\n… (truncated to fit GitHub's limit)\n"
	cut := n - len(note)
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + note
}
