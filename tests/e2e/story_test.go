package e2e_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/demo"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/fixtures/slackfake"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

// TestFullStory: proposal, plan, four-eyes approval, merge, execution,
// publishing, the dashboard and the Slack message; then the owners merge
// two pull requests, close one, push to one and move the base of one, and
// the app follows (merged, closed, automation stopped, rebased) — checked
// on GitHub, in Slack, in the database and in the audit log.
func TestFullStory(t *testing.T) {
	t.Parallel()
	sl := slackfake.New(t)
	w := newWorld(t, setup{mutate: func(c *config.Config) {
		c.Slack.BotToken = slackfake.Token
		c.Slack.APIURL = sl.APIURL()
		c.Slack.DefaultChannel = "#platform-campaigns"
		c.Slack.UpdateEvery = time.Second
	}})
	plan := w.propose()
	if plan.Conclusion != "success" || plan.Title != "6 repositories match" {
		t.Fatalf("plan: %s %q\n%s", plan.Conclusion, plan.Title, plan.Summary)
	}
	for _, want := range []string{"- octo-org/api-gateway", "- octo-org/build-tools", "| octo-org/legacy-payroll | excluded by pattern octo-org/legacy-* |", "Approval required"} {
		if !strings.Contains(plan.Summary, want) {
			t.Errorf("plan summary lacks %q:\n%s", want, plan.Summary)
		}
	}
	if strings.Contains(plan.Summary, "octo-org/web") || strings.Contains(plan.Summary, "legacy-cron") {
		t.Errorf("the plan lists a Node or archived repository:\n%s", plan.Summary)
	}

	// Four eyes: the author is refused, the maintainer accepted.
	if r := w.say(demo.Author, "/campaign approve"); !strings.Contains(r, "❌") || !strings.Contains(r, "four-eyes") {
		t.Fatalf("author's approval: %s", r)
	}
	// Nothing starts before the merge.
	var runs int
	if err := w.Store.Pool().QueryRow(w.ctx, `SELECT count(*) FROM runs`).Scan(&runs); err != nil || runs != 0 {
		t.Fatalf("runs before merge: %d %v", runs, err)
	}
	w.approveAndMerge()

	ts := w.waitPublished()
	w.assertOnePRPerChangedRepo(ts)
	c := stack.StateCounts(ts)
	if c[store.TaskPublished] != len(w.demo.Changed()) || c[store.TaskNoChanges] != 1 {
		t.Errorf("task states %v, want %d published and 1 no_changes", c, len(w.demo.Changed()))
	}

	// The dashboard on the control repository's merge commit says so.
	d := w.waitDashboard(len(ts))
	for _, r := range w.demo.Changed() {
		if !strings.Contains(d.Summary, "| "+r+" | published | [#1](") {
			t.Errorf("dashboard lacks %s's pull request:\n%s", r, d.Summary)
		}
	}
	main, err := w.Fake.BranchSHA(w.ctx, demo.Org, demo.ControlRepo, "main")
	if err != nil || d.HeadSHA != main {
		t.Errorf("dashboard on %s, control repository main is %s (%v)", d.HeadSHA, main, err)
	}

	// The database: one version, approved by the maintainer, the run running.
	cpg, _, err := w.Store.CampaignByName(w.ctx, w.demo.Control(), w.specName)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := w.Store.SpecVersions(w.ctx, cpg.ID)
	if err != nil || len(vs) != 1 || vs[0].YAML != w.specYAML {
		t.Fatalf("spec versions %+v %v", vs, err)
	}
	var approver string
	if err := w.Store.Pool().QueryRow(w.ctx, `SELECT approver FROM approvals`).Scan(&approver); err != nil || approver != demo.Maintainer {
		t.Errorf("approvals: %q %v", approver, err)
	}

	// The audit log has both approval attempts with their outcomes.
	log, err := w.Store.AuditLog(w.ctx, w.demo.Control(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		if e.Action == "approve" {
			got = append(got, e.Actor+":"+e.Outcome)
		}
	}
	if strings.Join(got, ",") != demo.Maintainer+":accepted,"+demo.Author+":refused" {
		t.Errorf("audit log approvals = %v", got)
	}
	// Slack: one message for the run, updated in place (coalesced) to the final counts.
	channel := slackfake.ChannelID("#platform-campaigns")
	wantDone := fmt.Sprintf("%d/%d repositories done", len(ts), len(ts))
	wantPublished := fmt.Sprintf("*published*: %d", len(w.demo.Changed()))
	w.waitUntil("the final Slack message", func() (bool, string) {
		msgs := sl.Messages(channel)
		if len(msgs) != 1 {
			return false, fmt.Sprintf("%d messages", len(msgs))
		}
		text := msgs[0].BlockText()
		return strings.Contains(text, wantDone) && strings.Contains(text, wantPublished), text
	})
	msgs := sl.Messages(channel)
	if msgs[0].Updates < 1 || msgs[0].Updates > 3*len(ts) {
		t.Errorf("the Slack message was updated %d times for %d repositories", msgs[0].Updates, len(ts))
	}
	if m, ok, err := w.Store.SlackMessage(w.ctx, w.runID, "#platform-campaigns"); err != nil || !ok || m.TS != msgs[0].TS {
		t.Errorf("stored Slack message %+v %v %v, Slack has %s", m, ok, err, msgs[0].TS)
	}

	// The owners react and the app follows every pull request to its end.
	r := w.react(ts, 2)
	w.waitReconciled(r)
	w.Settle()
	w.assertReconciledOnGitHub(r)

	// The database: final and open tasks, who closed what, the drift bookkeeping.
	final := w.tasks()
	if c := stack.StateCounts(final); c[store.TaskMerged] != 2 || c[store.TaskClosed] != 1 || c[store.TaskPublished] != 2 || c[store.TaskNoChanges] != 1 {
		t.Errorf("task states after the reactions %v, want 2 merged, 1 closed, 2 published, 1 no_changes", c)
	}
	for _, task := range append(append([]store.RepoTask{}, r.merged...), r.closed...) {
		if cs := w.changeset(task); cs.ClosedBy != demo.Developer || cs.RebaseCount != 0 {
			t.Errorf("%s: closed by %q, %d rebases; want %s and none", task.Repository, cs.ClosedBy, cs.RebaseCount, demo.Developer)
		}
	}
	if cs := w.changeset(r.edited); cs.HumanEditedSHA != r.personal || cs.RebaseCount != 0 || cs.LastPushedSHA != r.edited.HeadSHA {
		t.Errorf("edited changeset: human edit %s, %d rebases, last pushed %s; want %s, none, %s",
			cs.HumanEditedSHA, cs.RebaseCount, cs.LastPushedSHA, r.personal, r.edited.HeadSHA)
	}
	moved := w.changeset(r.moved)
	if moved.RebaseCount != 1 || moved.DriftHandledSHA != r.newBase || moved.BaseHeadSHA != r.newBase || moved.LastPushedSHA != moved.Task.HeadSHA {
		t.Errorf("moved changeset: %d rebases, drift handled %s, base head %s, last pushed %s (head %s); want 1 rebase on %s",
			moved.RebaseCount, moved.DriftHandledSHA, moved.BaseHeadSHA, moved.LastPushedSHA, moved.Task.HeadSHA, r.newBase)
	}
	if run, err := w.Store.GetRun(w.ctx, w.runID); err != nil || run.State != store.RunRunning {
		t.Errorf("run after the reactions: %+v %v; want running (two pull requests are open)", run, err)
	}

	// The dashboard counts the merged pull requests and notes the rest.
	row := func(d githubfake.CheckRunState, task store.RepoTask) string {
		for _, l := range strings.Split(d.Summary, "\n") {
			if strings.HasPrefix(l, "| "+task.Repository+" |") {
				return l
			}
		}
		return ""
	}
	w.waitUntil("the dashboard after the reactions", func() (bool, string) {
		d, ok := w.dashboard()
		return ok && strings.HasSuffix(d.Title, "running: 6/6 repositories done, 2/5 pull requests merged") &&
			strings.Contains(row(d, r.closed[0]), "| closed | [#1](") && strings.HasSuffix(row(d, r.closed[0]), "| closed by "+demo.Developer+" |") &&
			strings.HasSuffix(row(d, r.edited), "| human edit: automation stopped |") &&
			strings.HasSuffix(row(d, r.moved), "| published | [#1]("+r.moved.PRURL+") |  |") &&
			strings.Contains(d.Summary, "| merged | 2 |"), d.Title + "\n" + d.Summary
	})

	// The audit log: the reconciler's own actions on people's pull requests.
	var drift []string
	if log, err = w.Store.AuditLog(w.ctx, "", 100); err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		if strings.HasPrefix(e.Action, "drift.") {
			drift = append(drift, fmt.Sprintf("%s %s %s %s %v", e.Actor, e.Action, e.Target, e.Outcome, e.Details["campaign"]))
		}
	}
	slices.Sort(drift)
	wantDrift := []string{
		fmt.Sprintf("campaignbot drift.human_edit %s#1 accepted %s", r.edited.Repository, w.specName),
		fmt.Sprintf("campaignbot drift.rebase %s#1 accepted %s", r.moved.Repository, w.specName),
	}
	if !slices.Equal(drift, wantDrift) {
		t.Errorf("the reconciler's audit entries %q, want %q", drift, wantDrift)
	}

	// Slack: still one message, updated in place to the final counts.
	w.waitUntil("the Slack message after the reactions", func() (bool, string) {
		msgs := sl.Messages(channel)
		if len(msgs) != 1 {
			return false, fmt.Sprintf("%d messages", len(msgs))
		}
		text := msgs[0].BlockText()
		for _, want := range []string{wantDone, "*merged*: 2", "*closed*: 1", "*published*: 2", "*no_changes*: 1"} {
			if !strings.Contains(text, want) {
				return false, text
			}
		}
		return true, text
	})

	if r := w.refusals.Counts(); r.SecondaryLimit != 0 || r.PrimaryLimit != 0 {
		t.Errorf("GitHub refused requests: %+v", r)
	}
}
