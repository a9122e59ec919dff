package tasks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignbot/campaignbot/campaigns/notify"
	"github.com/campaignbot/campaignbot/fixtures/slackfake"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

const notifySpec = `version: 1
name: touch
owners: [octo-org/platform-admins]
targets:
  repositories: [octo-org/a, octo-org/b]
steps:
  - name: touch
    run: echo hi > HELLO
pullRequest:
  title: add HELLO
notify:
  slack: "#platform-campaigns"
`

const channelID = "CPLATFORMCAMPAIGNS"

type notifyWorld struct {
	st    *store.Store
	slack *slackfake.Server
	h     *tasks.Notify
	reg   *prometheus.Registry
	run   store.Run
	tasks []store.RepoTask
	sched *recordingScheduler
}

type recordingScheduler struct{ runs []int64 }

func (r *recordingScheduler) EnqueueSlack(_ context.Context, runID int64, _ string, _ time.Duration) (bool, error) {
	r.runs = append(r.runs, runID)
	return true, nil
}

type killSwitch struct{ on bool }

func (k *killSwitch) Frozen(context.Context) (bool, string) { return k.on, "incident 42" }

func newNotifyWorld(t *testing.T, state string, opts ...func(*notify.Config)) *notifyWorld {
	t.Helper()
	ctx := context.Background()
	st, _ := storetest.NewStore(t)
	res, err := st.ApplySpecSync(ctx, store.SpecSync{ControlRepo: "octo-org/platform", CommitSHA: strings.Repeat("c", 40),
		Valid: []store.SyncedSpec{{Name: "touch", Path: "campaigns/touch.yaml", YAML: notifySpec, ContentHash: "h"}}})
	if err != nil {
		t.Fatal(err)
	}
	v := res.NewVersions[0]
	var nt []store.NewTask
	if state != store.RunAwaitingApproval {
		for i, repo := range []string{"octo-org/a", "octo-org/b"} {
			nt = append(nt, store.NewTask{Repository: repo, DedupeKey: fmt.Sprintf("k%d", i), BaseBranch: "main", BaseSHA: strings.Repeat("b", 40)})
		}
	}
	run, created, _, err := st.CreateRun(ctx, store.Run{CampaignID: v.CampaignID, SpecVersionID: v.ID, State: state, ControlSHA: strings.Repeat("c", 40)}, nt)
	if err != nil {
		t.Fatal(err)
	}
	sl := slackfake.New(t)
	reg := prometheus.NewRegistry()
	cfg := notify.Config{DefaultChannel: "#default"}
	for _, o := range opts {
		o(&cfg)
	}
	sched := &recordingScheduler{}
	n := notify.New(st, tasks.NewSlackAPI(slackfake.Token, sl.APIURL()), sched, cfg)
	return &notifyWorld{st: st, slack: sl, h: &tasks.Notify{Notifier: n, Metrics: tasks.NewNotifyMetrics(reg)}, reg: reg, run: run, tasks: created, sched: sched}
}

func (w *notifyWorld) process(t *testing.T) error {
	t.Helper()
	return w.h.ProcessTask(context.Background(), asynq.NewTask(tasks.TypeNotify, []byte(strconv.FormatInt(w.run.ID, 10))))
}

func (w *notifyWorld) finish(t *testing.T, i int, state string) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := w.st.ClaimRepoTask(ctx, w.tasks[i].ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := w.st.FinishRepoTask(ctx, w.tasks[i].ID, store.TaskOutcome{State: state, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
}

func (w *notifyWorld) failures(reason string) float64 {
	families, _ := w.reg.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestNotifyPostsOnceAndUpdatesOnlyOnChange(t *testing.T) {
	w := newNotifyWorld(t, store.RunRunning)
	for range 3 {
		if err := w.process(t); err != nil {
			t.Fatal(err)
		}
	}
	msgs := w.slack.Messages(channelID)
	if len(msgs) != 1 || msgs[0].Updates != 0 {
		t.Fatalf("after three unchanged updates: %d messages, %+v", len(msgs), msgs)
	}
	if got := msgs[0].BlockText(); !strings.Contains(got, "0/2 repositories done") || !strings.Contains(got, "[Pause]") {
		t.Fatalf("message:\n%s", got)
	}
	w.finish(t, 0, store.TaskNoChanges)
	w.finish(t, 1, store.TaskFailed)
	for range 2 {
		if err := w.process(t); err != nil {
			t.Fatal(err)
		}
	}
	msgs = w.slack.Messages(channelID)
	if len(msgs) != 1 || msgs[0].Updates != 1 || w.slack.Calls("chat.update") != 1 {
		t.Fatalf("want one message updated once: %+v, %d chat.update calls", msgs, w.slack.Calls("chat.update"))
	}
	if got := msgs[0].BlockText(); !strings.Contains(got, "2/2 repositories done") || !strings.Contains(got, "*failed*: 1") || !strings.Contains(got, "[Retry failed]") {
		t.Fatalf("updated message:\n%s", got)
	}
	if m, _, _ := w.st.SlackMessage(context.Background(), w.run.ID, "#platform-campaigns"); m.Updates != 1 || m.TS != msgs[0].TS {
		t.Fatalf("stored message %+v", m)
	}
}

func TestNotifyThreadsApprovalOnce(t *testing.T) {
	w := newNotifyWorld(t, store.RunAwaitingApproval)
	for range 2 {
		if err := w.process(t); err != nil {
			t.Fatal(err)
		}
	}
	msgs := w.slack.Messages(channelID)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	replies := w.slack.Replies(channelID, msgs[0].TS)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "Approval needed") || !strings.Contains(replies[0].Text, "octo-org/platform-admins") {
		t.Fatalf("replies %+v", replies)
	}
}

func TestNotifySlackFailures(t *testing.T) {
	cases := []struct {
		name   string
		fault  slackfake.Fault
		check  func(t *testing.T, err error)
		reason string
	}{
		{"429 honours Retry-After", slackfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second},
			func(t *testing.T, err error) {
				rl, ok := queue.IsRetryLater(err)
				if !ok || rl.After != 7*time.Second {
					t.Fatalf("got %v, want a retry in 7s", err)
				}
			}, "rate_limited"},
		{"channel_not_found is dropped and counted", slackfake.Fault{Error: "channel_not_found"},
			func(t *testing.T, err error) {
				if err != nil {
					t.Fatalf("got %v, want the update dropped", err)
				}
			}, "channel_not_found"},
		{"token_revoked is dropped and counted", slackfake.Fault{Error: "token_revoked"},
			func(t *testing.T, err error) {
				if err != nil {
					t.Fatalf("got %v, want the update dropped", err)
				}
			}, "token_revoked"},
		{"outage is retried", slackfake.Fault{Status: http.StatusServiceUnavailable},
			func(t *testing.T, err error) {
				if _, wait := queue.IsRetryLater(err); err == nil || wait || errors.Is(err, asynq.SkipRetry) {
					t.Fatalf("got %v, want an error asynq retries", err)
				}
			}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newNotifyWorld(t, store.RunRunning)
			w.slack.SetFault(c.fault)
			c.check(t, w.process(t))
			if c.reason != "" && w.failures(c.reason) != 1 {
				t.Fatalf("counter %s = %v, want 1", c.reason, w.failures(c.reason))
			}
			// Slack back: the message is posted once.
			w.slack.ClearFault()
			if err := w.process(t); err != nil {
				t.Fatal(err)
			}
			if n := len(w.slack.Messages(channelID)); n != 1 {
				t.Fatalf("%d messages after recovery", n)
			}
		})
	}
}

func TestNotifyThreadsCompletionSummaryOnce(t *testing.T) {
	w := newNotifyWorld(t, store.RunRunning)
	if err := w.process(t); err != nil {
		t.Fatal(err)
	}
	w.finish(t, 0, store.TaskFailed)
	// The run ends (as orchestrator completion records it).
	if _, err := w.st.Pool().Exec(context.Background(), `UPDATE repo_tasks SET state = 'merged', pr_number = 9, pr_url = 'https://github.com/octo-org/b/pull/9' WHERE id = $1`, w.tasks[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.Pool().Exec(context.Background(), `UPDATE runs SET state = 'completed', finished_at = now() WHERE id = $1`, w.run.ID); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := w.process(t); err != nil {
			t.Fatal(err)
		}
	}
	msgs := w.slack.Messages(channelID)
	if len(msgs) != 1 || !strings.Contains(msgs[0].BlockText(), "completed") {
		t.Fatalf("messages %+v", msgs)
	}
	replies := w.slack.Replies(channelID, msgs[0].TS)
	if len(replies) != 1 {
		t.Fatalf("%d replies, want the summary once: %+v", len(replies), replies)
	}
	for _, want := range []string{"merged 1, closed 0, failed 1", "<https://github.com/octo-org/a|octo-org/a>"} {
		if !strings.Contains(replies[0].Text, want) {
			t.Errorf("summary lacks %q: %s", want, replies[0].Text)
		}
	}
}

func TestKillSwitchIsToldInTheThreadOnce(t *testing.T) {
	ks := &killSwitch{}
	w := newNotifyWorld(t, store.RunRunning, func(c *notify.Config) { c.KillSwitch = ks })
	sweeper := notify.FreezeSweeper{Notifier: w.h.Notifier, Runs: w.st}
	sweep := func() int {
		t.Helper()
		w.sched.runs = nil
		n, err := sweeper.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != len(w.sched.runs) {
			t.Fatalf("sweep says %d, requested %v", n, w.sched.runs)
		}
		return n
	}
	if err := w.process(t); err != nil {
		t.Fatal(err)
	}
	if n := sweep(); n != 0 {
		t.Fatalf("%d runs to tell while nothing changed", n)
	}
	for _, step := range []struct {
		on   bool
		want string
	}{{true, "Kill switch on"}, {false, "Kill switch off"}, {true, "Kill switch on"}} {
		ks.on = step.on
		if n := sweep(); n != 1 || w.sched.runs[0] != w.run.ID {
			t.Fatalf("freeze=%v: requested %v", step.on, w.sched.runs)
		}
		for range 2 {
			if err := w.process(t); err != nil {
				t.Fatal(err)
			}
		}
		if n := sweep(); n != 0 {
			t.Fatalf("freeze=%v: still %d runs to tell after the update", step.on, n)
		}
		msgs := w.slack.Messages(channelID)
		replies := w.slack.Replies(channelID, msgs[0].TS)
		if last := replies[len(replies)-1].Text; !strings.Contains(last, step.want) {
			t.Fatalf("last reply %q, want %q", last, step.want)
		}
	}
	if r := w.slack.Replies(channelID, w.slack.Messages(channelID)[0].TS); len(r) != 3 {
		t.Fatalf("%d replies for three changes", len(r))
	}
	if got := w.slack.Messages(channelID)[0].BlockText(); !strings.Contains(got, "frozen: incident 42") {
		t.Fatalf("message does not show the freeze:\n%s", got)
	}
}
