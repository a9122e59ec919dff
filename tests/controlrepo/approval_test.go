package controlrepo_test

import (
	"strings"
	"testing"

	"github.com/google/go-github/v74/github"
)

// comments reads a pull request's comments through GitHub's REST API.
func (w *world) comments(number int) []*github.IssueComment {
	w.T.Helper()
	client := w.InstallationClient(w.installationID)
	var all []*github.IssueComment
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := client.Issues.ListComments(w.ctx, "octo-org", "platform", number, opt)
		if err != nil {
			w.T.Fatal(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all
		}
		opt.Page = resp.NextPage
	}
}

// lastReply is campaignbot's latest comment on the pull request.
func (w *world) lastReply(number int) string {
	w.T.Helper()
	cs := w.comments(number)
	for i := len(cs) - 1; i >= 0; i-- {
		if strings.HasSuffix(cs[i].GetUser().GetLogin(), "[bot]") {
			return cs[i].GetBody()
		}
	}
	return ""
}

func (w *world) say(number int, user, body string) string {
	w.T.Helper()
	if _, err := w.Fake.Comment(w.ctx, "octo-org", "platform", number, user, body); err != nil {
		w.T.Fatal(err)
	}
	w.Settle()
	return w.lastReply(number)
}

func (w *world) runStates() map[string]int {
	w.T.Helper()
	rows, err := w.Store.Pool().Query(w.ctx, `SELECT state, count(*) FROM runs GROUP BY state`)
	if err != nil {
		w.T.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			w.T.Fatal(err)
		}
		out[s] = n
	}
	return out
}

func TestApprovalFlow(t *testing.T) {
	w := newWorld(t)
	for user, perm := range map[string]string{"alice": "write", "rita": "read", "wanda": "write"} {
		if err := w.Fake.SetCollaborator("octo-org", "platform", user, perm); err != nil {
			t.Fatal(err)
		}
	}
	n, sha := w.openSpecPR("add-bump-go", map[string]string{"campaigns/bump-go.yaml": validSpec})
	if c := w.checks(sha)["campaign plan: bump-go"]; c.Conclusion != "success" || !strings.Contains(c.Summary, "Approval required") {
		t.Fatalf("plan before approval: %s %s", c.Conclusion, c.Summary)
	}

	// The author may not approve their own spec.
	if r := w.say(n, "alice", "/campaign approve"); !strings.Contains(r, "❌") || !strings.Contains(r, "four-eyes") {
		t.Fatalf("author approval reply: %s", r)
	}
	// A read-only user may not approve, and is told what is missing.
	if r := w.say(n, "rita", "/campaign approve bump-go"); !strings.Contains(r, "❌") || !strings.Contains(r, "read permission on octo-org/platform; this needs write") {
		t.Fatalf("read-only approval reply: %s", r)
	}
	// A writer may.
	if r := w.say(n, "wanda", "/campaign approve"); !strings.Contains(r, "✅") || !strings.Contains(r, "approved by @wanda") {
		t.Fatalf("writer approval reply: %s", r)
	}
	if c := w.checks(sha)["campaign plan: bump-go"]; !strings.Contains(c.Summary, "**Approved** by @wanda") {
		t.Fatalf("plan after approval does not say so: %s", c.Summary)
	}

	// A push to the pull request voids the approval and the new plan says so.
	changed := validSpec + "# reviewed again\n"
	sha2, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "add-bump-go", "alice", "tweak", map[string]string{"campaigns/bump-go.yaml": changed})
	if err != nil {
		t.Fatal(err)
	}
	w.Settle()
	c := w.checks(sha2)["campaign plan: bump-go"]
	if !strings.Contains(c.Summary, "voided by a later push") || strings.Contains(c.Summary, "**Approved**") {
		t.Fatalf("plan after push: %s", c.Summary)
	}

	// Approve again, merge: the run starts.
	if r := w.say(n, "wanda", "/campaign approve bump-go"); !strings.Contains(r, "✅") {
		t.Fatalf("second approval: %s", r)
	}
	if _, err := w.Fake.MergePullRequest(w.ctx, "octo-org", "platform", n, "wanda", "merge"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if st := w.runStates(); st["running"] != 1 || st["awaiting_approval"] != 0 {
		t.Fatalf("runs after merge: %v", st)
	}

	// Every command, accepted or refused, is in the audit log.
	log, err := w.Store.AuditLog(w.ctx, "octo-org/platform", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Actor+":"+e.Action+":"+e.Outcome)
	}
	want := "wanda:approve:accepted,wanda:approve:accepted,rita:approve:refused,alice:approve:refused"
	if strings.Join(got, ",") != want {
		t.Fatalf("audit log = %v, want %s", got, want)
	}
}

func TestApprovalPushRaceEitherOrder(t *testing.T) {
	w := newWorld(t)
	if err := w.Fake.SetCollaborator("octo-org", "platform", "wanda", "write"); err != nil {
		t.Fatal(err)
	}
	n, _ := w.openSpecPR("race", map[string]string{"campaigns/bump-go.yaml": validSpec})
	// Push lands, then the approval arrives: it binds to the new head's content.
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "race", "alice", "more", map[string]string{"campaigns/bump-go.yaml": validSpec + "# v2\n"}); err != nil {
		t.Fatal(err)
	}
	w.say(n, "wanda", "/campaign approve")
	if _, err := w.Fake.MergePullRequest(w.ctx, "octo-org", "platform", n, "wanda", "merge"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	// Started: running, or completed already when no repository needed a change.
	if st := w.runStates(); st["running"]+st["completed"] != 1 {
		t.Fatalf("approve after push then merge: %v", st)
	}

	// Approval first, then a push the approver never saw: the merged content is not approved.
	n2, _ := w.openSpecPR("race2", map[string]string{"campaigns/other.yaml": strings.Replace(validSpec, "name: bump-go", "name: other", 1)})
	w.say(n2, "wanda", "/campaign approve")
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "race2", "alice", "sneak", map[string]string{"campaigns/other.yaml": strings.Replace(validSpec, "name: bump-go", "name: other", 1) + "# sneaky\n"}); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if _, err := w.Fake.MergePullRequest(w.ctx, "octo-org", "platform", n2, "alice", "merge"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if st := w.runStates(); st["running"]+st["completed"] != 1 || st["awaiting_approval"] != 1 {
		t.Fatalf("approve then push then merge: %v (the unapproved content must wait)", st)
	}
}

func TestCommandsFeedbackAndBadInput(t *testing.T) {
	w := newWorld(t)
	n, _ := w.openSpecPR("cmds", map[string]string{"campaigns/bump-go.yaml": validSpec})
	for _, tc := range []struct{ body, want string }{
		{"/campaign frobnicate", "unknown command"},
		{"/campaign help", "/campaign approve [name]"},
		{"/campaign approve nosuch", `unknown campaign "nosuch": this pull request holds ` + "`bump-go`"},
		{"/campaign approve '$(rm -rf /)'", `unknown campaign "$(rm -rf /)"`},
		{"/campaign approve --force", `unknown flag "--force"`},
		{"hello\n" + strings.Repeat("x", 65000) + "\n/campaign help", "campaignbot commands"},
	} {
		if r := w.say(n, "rita", tc.body); !strings.Contains(r, tc.want) {
			t.Errorf("%.40q: reply lacks %q:\n%s", tc.body, tc.want, r)
		}
	}
	// Edited comments and bot comments are not run.
	before := len(w.comments(n))
	id, err := w.Fake.Comment(w.ctx, "octo-org", "platform", n, "rita", "nothing here")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Fake.EditComment(w.ctx, id, "/campaign approve"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if got := len(w.comments(n)); got != before+1 {
		t.Fatalf("an edited comment was answered: %d comments, want %d", got, before+1)
	}
}
