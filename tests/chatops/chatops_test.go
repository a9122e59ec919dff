// Package chatops_test drives runs with `/campaign` commands end to end on
// githubfake: commit comments on the control repository's default branch,
// the dashboard's buttons, and the maintainers' answers on a campaign's
// pull requests — each changing the run's state and its dashboard, each
// answered and audited, replays changing nothing.
package chatops_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

const (
	control = "octo-org/platform"
	spec    = `version: 1
name: bump-go
description: Raise the go directive.
owners: [octo-org/platform-team]
targets:
  query: "org:octo-org"
  require:
    files: [go.mod]
steps:
  - name: bump
    image: golang:1.26-alpine
    run: go mod edit -go=1.26
pullRequest:
  title: "chore: bump Go"
`
)

// executor changes every repository, and fails the ones in failing.
type executor struct {
	failing sync.Map // repo -> true
	runs    atomic.Int64
}

func (e *executor) Execute(_ context.Context, req runner.Request) (*runner.Result, error) {
	e.runs.Add(1)
	if _, bad := e.failing.Load(req.Repository); bad {
		return nil, &runner.StepError{Step: "bump", ExitCode: 1, LogTail: "go: broken go.mod"}
	}
	return &runner.Result{Changed: []runner.FileChange{{Path: "go.mod", Mode: runner.ModeFile, Content: []byte("module x\n\ngo 1.26\n")}},
		PatchHash: "p-" + req.Repository + "-" + req.BaseSHA, BaseSHA: req.BaseSHA}, nil
}

type world struct {
	*stack.Stack
	ctx  context.Context
	exec *executor
	sha  string // the control commit that made the spec version
}

func newWorld(t *testing.T) *world {
	// The story sends some thirty commands in about a minute, each answered
	// with two reactions and a reply next to the dashboard's updates and the
	// publishes: more writes than GitHub's 80 a minute. What the app does
	// at that limit is the publisher's and e2e's subject; here GitHub
	// allows more, so the story's pace is the test's, not the limit's.
	lim := githubfake.DefaultLimits()
	lim.ContentPerMinute, lim.ContentPerHour = 1000, 5000
	s := stack.NewWith(t, stack.Options{Fake: []githubfake.Option{githubfake.WithLimits(lim)}}, func(c *config.Config) {
		c.Campaign.ControlRepo = control
		c.Campaign.DashboardEvery = time.Second
		c.Campaign.Admins = []string{"boss"}
		c.Publisher.ContentPerMinute, c.Publisher.ContentPerHour = lim.ContentPerMinute, lim.ContentPerHour
	})
	s.StopWorker()
	w := &world{Stack: s, ctx: context.Background(), exec: &executor{}}
	s.StartWorker(app.WithExecutor(w.exec), app.WithResultStore(stack.NewMemResults()))
	if _, err := s.Fake.CreateOrg(w.ctx, githubfake.OrgSpec{Name: "octo-org", Repos: 4, Files: map[string]string{"go.mod": "module x\n\ngo 1.22\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fake.CreateRepo(w.ctx, "octo-org", githubfake.RepoSpec{Name: "platform", Files: map[string]string{"README.md": "control\n"}}); err != nil {
		t.Fatal(err)
	}
	for user, perm := range map[string]string{"alice": "write", "wanda": "write", "rita": "read"} {
		if err := s.Fake.SetCollaborator("octo-org", "platform", user, perm); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Fake.SetCollaborator("octo-org", "repo-0001", "mia", "maintain"); err != nil {
		t.Fatal(err)
	}
	s.Fake.CreateUser("boss")
	s.Fake.CreateUser("otto")
	return w
}

// pushSpec commits the spec straight to main as alice: it needs approval,
// so its run waits.
func (w *world) pushSpec() {
	w.T.Helper()
	sha, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "main", "alice", "add bump-go", map[string]string{"campaigns/bump-go.yaml": spec})
	if err != nil {
		w.T.Fatal(err)
	}
	w.sha = sha
	w.Settle()
}

// say comments on the control commit and returns campaignbot's answer.
func (w *world) say(user, body string) string {
	w.T.Helper()
	if _, err := w.Fake.CommitComment(w.ctx, "octo-org", "platform", w.sha, user, body); err != nil {
		w.T.Fatal(err)
	}
	w.Settle()
	return w.lastCommitReply(w.sha)
}

func (w *world) lastCommitReply(sha string) string {
	cs := w.Fake.CommitComments("octo-org", "platform", sha)
	for i := len(cs) - 1; i >= 0; i-- {
		if strings.HasSuffix(cs[i].User, "[bot]") {
			return cs[i].Body
		}
	}
	return ""
}

func (w *world) run() store.RunView {
	w.T.Helper()
	c, ok, err := w.Store.CampaignByName(w.ctx, control, "bump-go")
	if err != nil || !ok {
		w.T.Fatalf("campaign: %v %v", ok, err)
	}
	r, ok, err := w.Store.LatestRun(w.ctx, c.ID)
	if err != nil || !ok {
		w.T.Fatalf("run: %v %v", ok, err)
	}
	v, err := w.Store.LoadRunView(w.ctx, r.ID)
	if err != nil {
		w.T.Fatal(err)
	}
	return v
}

func (w *world) taskStates() map[string]string {
	out := map[string]string{}
	for _, t := range w.run().Tasks {
		out[t.Repository] = t.State
	}
	return out
}

// dashboard is the run's check run as GitHub shows it.
func (w *world) dashboard() githubfake.CheckRunState {
	for _, c := range w.Fake.CheckRuns("octo-org", "platform") {
		if c.Name == "campaign: bump-go" && c.HeadSHA == w.sha {
			return c
		}
	}
	return githubfake.CheckRunState{}
}

func buttons(c githubfake.CheckRunState) string {
	var ids []string
	for _, a := range c.Actions {
		ids = append(ids, a.Identifier)
	}
	return strings.Join(ids, ",")
}

// waitDashboard waits until the dashboard shows state and these buttons.
func (w *world) waitDashboard(state, wantButtons string) {
	w.T.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d := w.dashboard()
		if strings.HasPrefix(d.Title, state+":") && buttons(d) == wantButtons {
			return
		}
		if time.Now().After(deadline) {
			w.T.Fatalf("dashboard is %q with buttons %q, want %s with %q:\n%s", d.Title, buttons(d), state, wantButtons, d.Summary)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *world) press(user, identifier string) string {
	w.T.Helper()
	if err := w.Fake.PressCheckRunButton(w.ctx, w.dashboard().ID, user, identifier); err != nil {
		w.T.Fatal(err)
	}
	w.Settle()
	return w.lastCommitReply(w.sha)
}

func (w *world) audit() []string {
	w.T.Helper()
	log, err := w.Store.AuditLog(w.ctx, "", 500)
	if err != nil {
		w.T.Fatal(err)
	}
	var out []string
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		if e.Outcome == "accepted" || e.Outcome == "refused" || e.Outcome == "error" {
			out = append(out, e.Actor+":"+e.Action+":"+e.Outcome)
		}
	}
	return out
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(got, s) {
			t.Fatalf("%s lacks %q:\n%s", what, s, got)
		}
	}
}

func TestRunDrivenByCommitCommentsAndButtons(t *testing.T) {
	w := newWorld(t)
	w.exec.failing.Store("octo-org/repo-0004", true)
	w.pushSpec()
	if st := w.run().Run.State; st != store.RunAwaitingApproval {
		t.Fatalf("run after push: %s", st)
	}
	w.waitDashboard("awaiting_approval", "approve")

	// Approving a waiting run: not the author, not a reader; the button for a writer.
	mustContain(t, "author's approval", w.say("alice", "/campaign approve"), "❌", "four-eyes")
	mustContain(t, "reader's approval", w.say("rita", "/campaign approve bump-go"), "❌", "@rita has read permission on octo-org/platform")
	mustContain(t, "status", w.say("rita", "/campaign status"), "✅", "awaiting_approval", "Approve button")
	mustContain(t, "approve button", w.press("wanda", "approve"), "@wanda pressed", "✅", "approved by @wanda", "The run is running")
	w.WaitFor("tasks to settle", func() bool {
		st := w.taskStates()
		return st["octo-org/repo-0001"] == "published" && st["octo-org/repo-0002"] == "published" &&
			st["octo-org/repo-0003"] == "published" && st["octo-org/repo-0004"] == "failed"
	})
	w.waitDashboard("running", "pause,retry_failed")

	// Pause by comment, Resume by button, Pause by button, resume by comment.
	mustContain(t, "pause", w.say("wanda", "/campaign pause"), "✅", "paused by @wanda")
	w.waitDashboard("paused", "resume,retry_failed")
	mustContain(t, "pause again", w.say("wanda", "/campaign pause"), "✅", "paused already; nothing changed")
	mustContain(t, "resume button", w.press("wanda", "resume"), "✅", "resumed by @wanda")
	w.waitDashboard("running", "pause,retry_failed")
	mustContain(t, "pause button", w.press("wanda", "pause"), "✅", "paused by @wanda")
	w.waitDashboard("paused", "resume,retry_failed")
	mustContain(t, "resume by a reader", w.say("rita", "/campaign resume"), "❌", "@rita has read permission")
	mustContain(t, "resume", w.say("wanda", "/campaign resume bump-go"), "✅", "resumed by @wanda")
	w.waitDashboard("running", "pause,retry_failed")

	// Retry failed by button, once the repository is fixed.
	w.exec.failing.Delete("octo-org/repo-0004")
	mustContain(t, "retry button", w.press("wanda", "retry_failed"), "✅", "1 failed repository", "queued again by @wanda")
	w.WaitFor("repo-0004 to publish", func() bool { return w.taskStates()["octo-org/repo-0004"] == "published" })
	w.waitDashboard("running", "pause")
	mustContain(t, "retry with nothing failed", w.say("wanda", "/campaign retry"), "❌", "nothing to retry")
	mustContain(t, "retry of an unknown repository", w.say("wanda", "/campaign retry bump-go octo-org/nope"), "❌", "octo-org/nope is not a repository of run")

	// The maintainers of a target repository answer on its pull request.
	var pr int
	for _, tk := range w.run().Tasks {
		if tk.Repository == "octo-org/repo-0001" {
			pr = tk.PRNumber
		}
	}
	// target comments as user and returns what was said on the pull
	// request since: the reply, and for skip also the closing comment,
	// in whichever order their tasks ran.
	target := func(user, body string) string {
		t.Helper()
		before, err := w.Fake.PullRequest("octo-org", "repo-0001", pr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Fake.Comment(w.ctx, "octo-org", "repo-0001", pr, user, body); err != nil {
			t.Fatal(err)
		}
		w.Settle()
		st, err := w.Fake.PullRequest("octo-org", "repo-0001", pr)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(st.Comments[len(before.Comments):], "\n---\n")
	}
	mustContain(t, "snooze by a stranger", target("otto", "/campaign snooze 7d"), "❌", "@otto has no permission on octo-org/repo-0001")
	mustContain(t, "approve on a target", target("mia", "/campaign approve"), "❌", "controlled from the control repository octo-org/platform")
	mustContain(t, "snooze", target("mia", "/campaign snooze 7d"), "✅", "leaves this pull request alone until")
	mustContain(t, "skip", target("mia", "/campaign skip"), "✅", "skips campaign `bump-go`")
	w.WaitFor("the skipped pull request to close", func() bool {
		st, _ := w.Fake.PullRequest("octo-org", "repo-0001", pr)
		return st.State == "closed" && w.taskStates()["octo-org/repo-0001"] == "skipped"
	})

	// Cancel needs --yes; then the run ends and its open pull requests close.
	mustContain(t, "cancel without --yes", w.say("wanda", "/campaign cancel"), "❌", "closes its 3 open pull requests", "/campaign cancel bump-go --yes")
	if st := w.run().Run.State; st != store.RunRunning {
		t.Fatalf("run after an unconfirmed cancel: %s", st)
	}
	mustContain(t, "cancel", w.say("wanda", "/campaign cancel --yes"), "✅", "cancelled by @wanda")
	w.waitDashboard("cancelled", "")
	w.WaitFor("pull requests to close", func() bool {
		for _, repo := range []string{"repo-0002", "repo-0003", "repo-0004"} {
			for _, n := range w.Fake.PullRequests("octo-org", repo) {
				if st, _ := w.Fake.PullRequest("octo-org", repo, n); st.State != "closed" {
					return false
				}
			}
		}
		return true
	})
	mustContain(t, "pause after cancel", w.say("wanda", "/campaign pause"), "❌", "is cancelled; it has finished")

	want := []string{
		"alice:approve:refused", "rita:approve:refused", "rita:status:accepted", "wanda:approve:accepted",
		"wanda:pause:accepted", "wanda:pause:accepted", "wanda:resume:accepted", "wanda:pause:accepted", "rita:resume:refused", "wanda:resume:accepted",
		"wanda:retry:accepted", "wanda:retry:refused", "wanda:retry:refused",
		"otto:snooze:refused", "mia:approve:refused", "mia:snooze:accepted", "mia:skip:accepted",
		"wanda:cancel:refused", "wanda:cancel:accepted", "wanda:pause:refused",
	}
	if got := w.audit(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit log:\n got %v\nwant %v", got, want)
	}
	// Every one of these commands was about bump-go: the audit log's
	// campaign filter (GET /api/v1/audit?campaign=, ctl audit --campaign)
	// finds each, refusals included.
	byCampaign, err := w.Store.APIAudit(w.ctx, store.AuditFilter{Campaign: "bump-go"}, 500)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(byCampaign) - 1; i >= 0; i-- {
		e := byCampaign[i]
		got = append(got, e.Actor+":"+e.Action+":"+e.Outcome)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit log of campaign bump-go:\n got %v\nwant %v", got, want)
	}
}

func TestBadInputAndReplays(t *testing.T) {
	w := newWorld(t)
	w.pushSpec()

	// A commit that is not on the default branch.
	side, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "side", "alice", "side", map[string]string{"x.txt": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Fake.CommitComment(w.ctx, "octo-org", "platform", side, "wanda", "/campaign approve bump-go"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	mustContain(t, "comment on a side branch", w.lastCommitReply(side), "❌", "is not on the default branch main")
	// The refusal is audited under the campaign the command names.
	if log, err := w.Store.APIAudit(w.ctx, store.AuditFilter{Campaign: "bump-go", Actor: "wanda"}, 10); err != nil || len(log) != 1 ||
		log[0].Action != "approve" || log[0].Outcome != "refused" {
		t.Fatalf("the refused approval on a side branch, by campaign: %+v %v", log, err)
	}

	// A commit comment in a repository that is not the control repository.
	other, err := w.Fake.BranchSHA(w.ctx, "octo-org", "repo-0002", "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Fake.CommitComment(w.ctx, "octo-org", "repo-0002", other, "wanda", "/campaign pause"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	cs := w.Fake.CommitComments("octo-org", "repo-0002", other)
	if len(cs) != 2 || !strings.Contains(cs[1].Body, "driven from the control repository octo-org/platform") ||
		strings.Join(cs[0].Reactions, ",") != "eyes,confused" {
		t.Fatalf("commit comment in a target repository: %+v", cs)
	}

	// Unknown campaigns, shell metacharacters, unknown flags, freeze rules.
	mustContain(t, "unknown campaign", w.say("wanda", "/campaign pause nosuch"), "❌", `unknown campaign "nosuch": known campaigns are `+"`bump-go`")
	mustContain(t, "metacharacters", w.say("wanda", "/campaign status '$(rm -rf /); `id`'"), "❌", "unknown campaign \"$(rm -rf /); `id`\"")
	mustContain(t, "unknown flag", w.say("wanda", "/campaign pause --now"), "❌", `unknown flag "--now"`)
	mustContain(t, "pause while waiting", w.say("wanda", "/campaign pause"), "❌", "is awaiting_approval; nothing runs until it is approved")
	mustContain(t, "freeze by a writer", w.say("wanda", "/campaign freeze"), "❌", "@wanda is not a campaignbot admin")
	mustContain(t, "freeze by an admin", w.say("boss", "/campaign freeze"), "✅", "publishing frozen for all campaigns by @boss")
	mustContain(t, "status while frozen", w.say("rita", "/campaign status"), "Publishing is frozen for all campaigns (frozen by @boss")
	mustContain(t, "unfreeze", w.say("boss", "/campaign unfreeze"), "✅", "publishing unfrozen by @boss")
	mustContain(t, "several commands, in order", w.say("rita", "/campaign help\n/campaign nope\n/campaign status"), "✅ campaignbot commands", "❌ `/campaign nope`", "✅ `/campaign status`")

	// A comment is answered once even when its delivery is replayed or its first attempt fails.
	before := len(w.audit())
	deliveries := w.Fake.Deliveries()
	last := deliveries[len(deliveries)-1]
	for _, d := range deliveries {
		if d.Event == "commit_comment" {
			last = d
		}
	}
	if _, err := w.Fake.Redeliver(w.ctx, last.ID); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if got := len(w.audit()); got != before {
		t.Fatalf("a replayed delivery ran its commands again: %d audit rows, want %d", got, before)
	}

	remove := w.Fake.InjectFault(githubfake.Fault{Route: "POST /repos/{owner}/{repo}/commits/{commit_sha}/comments", Times: 1, Status: 502})
	defer remove()
	replies := len(w.Fake.CommitComments("octo-org", "platform", w.sha))
	mustContain(t, "approve, first answer lost", w.say("wanda", "/campaign approve"), "✅", "approved by @wanda")
	if got := len(w.Fake.CommitComments("octo-org", "platform", w.sha)); got != replies+2 {
		t.Fatalf("%d comments after a command whose first reply failed, want %d (the command and one reply)", got, replies+2)
	}
	approvals := 0
	for _, a := range w.audit()[before:] {
		if a == "wanda:approve:accepted" {
			approvals++
		}
	}
	if approvals != 1 {
		t.Fatalf("the retried delivery approved %d times: %v", approvals, w.audit()[before:])
	}
	if st := w.run().Run.State; st != store.RunRunning {
		t.Fatalf("run after approval: %s", st)
	}
}

func TestApproveAfterMerge(t *testing.T) {
	w := newWorld(t)
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "add-bump-go", "alice", "add", map[string]string{"campaigns/bump-go.yaml": spec}); err != nil {
		t.Fatal(err)
	}
	n, err := w.Fake.OpenPullRequest(w.ctx, "octo-org", "platform", githubfake.PullRequestSpec{Title: "add", Head: "add-bump-go", Base: "main", User: w.Fake.CreateUser("alice")})
	if err != nil {
		t.Fatal(err)
	}
	w.Settle()
	// Merged by someone else without approval: the run waits.
	if w.sha, err = w.Fake.MergePullRequest(w.ctx, "octo-org", "platform", n, "wanda", "merge"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if st := w.run().Run.State; st != store.RunAwaitingApproval {
		t.Fatalf("run after an unapproved merge: %s", st)
	}
	// On the merged pull request, the answer points to the merge commit.
	if _, err := w.Fake.Comment(w.ctx, "octo-org", "platform", n, "wanda", "/campaign approve"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	pr, _ := w.Fake.PullRequest("octo-org", "platform", n)
	mustContain(t, "approve on a merged pull request", pr.Comments[len(pr.Comments)-1], "❌", "this pull request is closed", "merge commit "+w.sha[:7])
	// The pull request's author still may not approve, though someone else merged it.
	mustContain(t, "author's approval after merge", w.say("alice", "/campaign approve bump-go"), "❌", "@alice wrote this spec version", "four-eyes")
	mustContain(t, "writer's approval after merge", w.say("wanda", "/campaign approve bump-go"), "✅", "approved by @wanda", "The run is running")
	w.waitDashboard("running", "pause")
	mustContain(t, "approve a running run", w.say("wanda", "/campaign approve"), "❌", "is running; there is nothing to approve")
}
