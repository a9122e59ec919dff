// Package slack_test drives real runs through the server and worker (on
// githubfake, with the local executor and the publisher) and follows them
// in Slack (slackfake): one message per run, coalesced updates, thread
// notices — and a Slack that fails changes nothing in the run.
package slack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/fixtures/slackfake"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

const repos = 6

// fastSpec needs no approval: it runs on merge and opens a PR per repository.
const fastSpec = `version: 1
name: bump-go
targets:
  query: "org:octo-org"
  require:
    files: [go.mod]
steps:
  - name: bump
    # Slow enough that the run outlasts one Slack update interval however
    # fast the machine: the message must be posted, then updated.
    run: sleep 2 && sed -i 's/^go 1.22$/go 1.26/' go.mod
pullRequest:
  title: "chore: bump Go to 1.26"
rollout:
  approval: none
notify:
  slack: "#platform-campaigns"
`

// gatedSpec needs approval; it goes to the default channel.
const gatedSpec = `version: 1
name: gated
owners: [octo-org/platform-admins]
targets:
  repositories: [octo-org/repo-0001]
steps:
  - name: touch
    run: echo hi > HELLO
pullRequest:
  title: add HELLO
`

const (
	campaignsChannel = "CPLATFORMCAMPAIGNS"
	defaultChannel   = "CDEFAULT"
)

type world struct {
	*stack.Stack
	ctx   context.Context
	slack *slackfake.Server
}

func newWorld(t *testing.T, fault *slackfake.Fault, mutate ...func(*config.Config)) *world {
	sl := slackfake.New(t)
	if fault != nil {
		sl.SetFault(*fault)
	}
	s := stack.New(t, func(c *config.Config) {
		c.Campaign.ControlRepo = "octo-org/platform"
		c.Slack.BotToken = slackfake.Token
		c.Slack.APIURL = sl.APIURL()
		c.Slack.DefaultChannel = "#default"
		c.Slack.UpdateEvery = time.Second
		c.Worker.MaxRetry = 2
		for _, m := range mutate {
			m(c)
		}
	})
	w := &world{Stack: s, ctx: context.Background(), slack: sl}
	if _, err := s.Fake.CreateOrg(w.ctx, githubfake.OrgSpec{Name: "octo-org", Repos: repos, Files: map[string]string{"go.mod": "module x\n\ngo 1.22\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fake.CreateRepo(w.ctx, "octo-org", githubfake.RepoSpec{Name: "platform", Files: map[string]string{"README.md": "control\n"}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// merge lands specs on the control repository's default branch.
func (w *world) merge(files map[string]string) int {
	w.T.Helper()
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "specs", "alice", "specs", files); err != nil {
		w.T.Fatal(err)
	}
	n, err := w.Fake.OpenPullRequest(w.ctx, "octo-org", "platform", githubfake.PullRequestSpec{Title: "specs", Head: "specs", Base: "main", User: w.Fake.CreateUser("alice")})
	if err != nil {
		w.T.Fatal(err)
	}
	if _, err := w.Fake.MergePullRequest(w.ctx, "octo-org", "platform", n, "bob", "merge"); err != nil {
		w.T.Fatal(err)
	}
	w.Settle()
	return n
}

func (w *world) runOf(campaign string) store.RunView {
	w.T.Helper()
	var id int64
	if err := w.Store.Pool().QueryRow(w.ctx, `SELECT r.id FROM runs r JOIN campaigns c ON c.id = r.campaign_id WHERE c.name = $1`, campaign).Scan(&id); err != nil {
		w.T.Fatalf("no run of %s: %v", campaign, err)
	}
	v, err := w.Store.LoadRunView(w.ctx, id)
	if err != nil {
		w.T.Fatal(err)
	}
	return v
}

func (w *world) published(campaign string) int {
	n := 0
	for _, t := range w.runOf(campaign).Tasks {
		if t.State == store.TaskPublished && t.PRNumber > 0 {
			n++
		}
	}
	return n
}

// assertRunOutcome is what every run must end with, whatever Slack does:
// one pull request per repository and the dashboard.
func (w *world) assertRunOutcome() {
	w.T.Helper()
	w.WaitFor("every pull request", func() bool { return w.published("bump-go") == repos })
	for _, t := range w.runOf("bump-go").Tasks {
		if prs := w.Fake.PullRequests("octo-org", strings.TrimPrefix(t.Repository, "octo-org/")); len(prs) != 1 {
			w.T.Errorf("%s has %d pull requests, want 1", t.Repository, len(prs))
		}
	}
	if st := w.runOf("gated").Run.State; st != store.RunAwaitingApproval {
		w.T.Fatalf("gated run is %s", st)
	}
	w.WaitFor("the dashboard", func() bool {
		for _, c := range w.Fake.CheckRuns("octo-org", "platform") {
			if c.Name == "campaign: bump-go" {
				return true
			}
		}
		return false
	})
}

func TestSlackFollowsARun(t *testing.T) {
	w := newWorld(t, nil)
	w.merge(map[string]string{"campaigns/bump-go.yaml": fastSpec, "campaigns/gated.yaml": gatedSpec})
	w.assertRunOutcome()

	// bump-go: one message in its spec's channel, updated as tasks finished.
	w.WaitFor("the final Slack message", func() bool {
		msgs := w.slack.Messages(campaignsChannel)
		return len(msgs) == 1 && strings.Contains(msgs[0].BlockText(), "6/6 repositories done") && strings.Contains(msgs[0].BlockText(), "*published*: 6")
	})
	time.Sleep(1500 * time.Millisecond) // a pending update would land within one interval
	msgs := w.slack.Messages(campaignsChannel)
	if len(msgs) != 1 {
		t.Fatalf("%d messages for one run", len(msgs))
	}
	updates := msgs[0].Updates
	t.Logf("bump-go: 1 post and %d chat.update calls for %d repositories (each moving queued -> running -> patch_ready -> publishing -> published)", updates, repos)
	if updates < 1 {
		t.Fatal("the message was never updated")
	}
	// Uncoalesced, each of the 6 tasks' ~4 moves would update it.
	if updates > 10 {
		t.Fatalf("%d updates for %d repositories: not coalesced", updates, repos)
	}
	if r := w.slack.Replies(campaignsChannel, msgs[0].TS); len(r) != 0 {
		t.Fatalf("notices on a healthy running run: %+v", r)
	}
	m, ok, err := w.Store.SlackMessage(w.ctx, w.runOf("bump-go").Run.ID, "#platform-campaigns")
	if err != nil || !ok || m.Updates != updates || m.TS != msgs[0].TS {
		t.Fatalf("stored message %+v %v %v", m, ok, err)
	}

	// gated: awaiting approval, in the default channel, with the approval request threaded once.
	gated := w.slack.Messages(defaultChannel)
	if len(gated) != 1 || !strings.Contains(gated[0].BlockText(), "awaiting_approval") || !strings.Contains(gated[0].BlockText(), "[Approve]") {
		t.Fatalf("gated messages %+v", gated)
	}
	replies := w.slack.Replies(defaultChannel, gated[0].TS)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "Approval needed") || !strings.Contains(replies[0].Text, "octo-org/platform-admins") {
		t.Fatalf("gated replies %+v", replies)
	}
}

func TestSlackOutageChangesNothingInTheRun(t *testing.T) {
	cases := []struct {
		name  string
		fault slackfake.Fault
	}{
		{"slack down", slackfake.Fault{Status: http.StatusServiceUnavailable}},
		{"token revoked", slackfake.Fault{Error: "token_revoked"}},
		{"rate limited", slackfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, &c.fault)
			w.merge(map[string]string{"campaigns/bump-go.yaml": fastSpec, "campaigns/gated.yaml": gatedSpec})
			w.assertRunOutcome()
			if w.slack.Calls("chat.postMessage") == 0 {
				t.Fatal("Slack was never called: the test did not exercise the outage")
			}
			if n := len(w.slack.Messages(campaignsChannel)); n != 0 {
				t.Fatalf("%d messages posted through the outage", n)
			}
		})
	}
}
