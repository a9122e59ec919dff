package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

// withControl gives the API the real run control over the test's database
// and a Redis of its own; it returns the Redis client to inspect the queue.
func withControl(t *testing.T) (func(*api.Config), *redis.Client) {
	opt, err := redis.ParseURL(storetest.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return func(c *api.Config) {
		st := c.Store.(*store.Store)
		q := queue.NewClient(rdb, 3)
		t.Cleanup(func() { q.Close() })
		c.Control = orchestrator.NewControl(orchestrator.ControlConfig{Store: st, Queue: q, Publish: q, Close: q,
			Settle: orchestrator.NewCompletion(st, q, nil)})
	}, rdb
}

// pendingTypes counts the queue's pending tasks by type.
func pendingTypes(t *testing.T, rdb *redis.Client) map[string]int {
	t.Helper()
	tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(queue.Tasks, asynq.PageSize(1000))
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, tk := range tasks {
		out[tk.Type]++
	}
	return out
}

func (e *env) act(token, action string, runID int64, body any) (int, api.ActionResult, []byte) {
	e.t.Helper()
	code, out := e.do("POST", fmt.Sprintf("/api/v1/runs/%d/%s", runID, action), token, body)
	var res api.ActionResult
	if code == http.StatusOK {
		if err := json.Unmarshal(out, &res); err != nil {
			e.t.Fatalf("%s: %v %s", action, err, out)
		}
	}
	return code, res, out
}

func (e *env) runState(id int64) store.RunDetail {
	e.t.Helper()
	d, ok, err := e.st.APIRun(context.Background(), id)
	if err != nil || !ok {
		e.t.Fatalf("run %d: %v %v", id, ok, err)
	}
	return d
}

func TestRunActions(t *testing.T) {
	ctl, rdb := withControl(t)
	e := newEnv(t, ctl)
	repos := []string{"acme/a", "acme/b", "acme/c", "acme/d", "acme/e"}
	s := e.seed([]string{"bump-go"}, repos)
	e.setTask(s.tasks["acme/a"], "failed", "step exited 1", "boom")
	e.setTask(s.tasks["acme/b"], "failed", "step exited 2", "boom")
	e.setTask(s.tasks["acme/c"], "published", "", "")
	if _, err := e.st.Pool().Exec(context.Background(), `UPDATE repo_tasks SET pr_number = 4, pr_url = 'https://github.test/acme/c/pull/4' WHERE id = $1`, s.tasks["acme/c"]); err != nil {
		t.Fatal(err)
	}

	// Pause with a reason: the run is paused and the reason shown.
	code, res, out := e.act(e.write, "pause", s.runID, api.ActionRequest{Reason: "holiday freeze"})
	if code != 200 || !res.Changed || res.Run.State != "paused" || !strings.Contains(res.Run.PausedReason, "holiday freeze") {
		t.Fatalf("pause: %d %s", code, out)
	}
	if d := e.runState(s.runID); d.State != "paused" {
		t.Fatalf("stored state after pause: %s", d.State)
	}
	// Again: harmless, nothing changes.
	code, res, out = e.act(e.write, "pause", s.runID, nil)
	if code != 200 || res.Changed || res.Run.State != "paused" {
		t.Fatalf("second pause: %d %s", code, out)
	}

	// Retry while paused: the failed tasks are queued again, and not
	// enqueued before the run resumes.
	before := pendingTypes(t, rdb)[queue.TypeExecute]
	code, res, out = e.act(e.write, "retry", s.runID, nil)
	if code != 200 || res.Requeued != 2 || !res.Changed || res.Run.Counts["failed"] != 0 || res.Run.Counts["queued"] != 4 {
		t.Fatalf("retry: %d %s", code, out)
	}
	if n := pendingTypes(t, rdb)[queue.TypeExecute]; n != before {
		t.Fatalf("a paused run's retried tasks were enqueued: %d -> %d", before, n)
	}
	// Retrying one repository that has not failed requeues nothing.
	code, res, out = e.act(e.write, "retry", s.runID, api.ActionRequest{Repository: "acme/e"})
	if code != 200 || res.Requeued != 0 || res.Changed {
		t.Fatalf("retry of a repository that did not fail: %d %s", code, out)
	}

	// Resume: running again, and the queued tasks are on the queue.
	code, res, out = e.act(e.write, "resume", s.runID, nil)
	if code != 200 || !res.Changed || res.Run.State != "running" || res.Run.PausedReason != "" {
		t.Fatalf("resume: %d %s", code, out)
	}
	if n := pendingTypes(t, rdb)[queue.TypeExecute]; n != 4 {
		t.Fatalf("after resume %d execute tasks are pending, want the 4 queued ones", n)
	}

	// Cancel: the run ends, unstarted work is cancelled, the open pull
	// request is being closed.
	code, res, out = e.act(e.write, "cancel", s.runID, api.ActionRequest{Reason: "wrong base image"})
	if code != 200 || !res.Changed || res.ClosingPRs != 1 || res.Run.State != "cancelled" || res.Run.Counts["cancelled"] != 4 {
		t.Fatalf("cancel: %d %s", code, out)
	}
	if n := pendingTypes(t, rdb)[queue.TypeClosePR]; n != 1 {
		t.Fatalf("%d close tasks pending, want 1", n)
	}
	code, res, _ = e.act(e.write, "cancel", s.runID, nil)
	if code != 200 || res.Changed {
		t.Fatalf("second cancel: %d changed %v", code, res.Changed)
	}

	// The ended run refuses the other actions with 409.
	for _, a := range []string{"pause", "resume", "retry"} {
		code, _, out := e.act(e.write, a, s.runID, nil)
		wantError(t, a+" of a cancelled run", code, out, 409, api.CodeConflict)
	}
	// Bad input: clear 400s, and the run is untouched.
	for _, tc := range []struct {
		action string
		body   string
	}{
		{"retry", `{"repository": "not a repo"}`},
		{"pause", `{"reason": "` + strings.Repeat("x", 600) + `"}`},
		{"pause", `{"why": "unknown field"}`},
		{"cancel", `[1, 2]`},
	} {
		code, out := e.do("POST", fmt.Sprintf("/api/v1/runs/%d/%s", s.runID, tc.action), e.write, tc.body)
		wantError(t, tc.action+" "+tc.body[:min(len(tc.body), 30)], code, out, 400, api.CodeBadRequest)
	}
	code, _, out = e.act(e.write, "pause", 424242, nil)
	wantError(t, "pause of an unknown run", code, out, 404, api.CodeNotFound)
	// A token without the scope is refused before the action; the refusal
	// still names the run's campaign.
	code, _, out = e.act(e.read, "resume", s.runID, nil)
	wantError(t, "resume with a read token", code, out, 403, api.CodeForbidden)

	// Every request is in the audit log under the token's name, with the
	// campaign: accepted, refused by the state, bad input, scope.
	var page api.Page[api.AuditEntry]
	e.get("/api/v1/audit?campaign=bump-go&limit=100", e.read, &page)
	var got []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		a := page.Items[i]
		if a.Target != fmt.Sprintf("run:%d", s.runID) || a.Details["via"] != "api" || a.Details["run_id"] != float64(s.runID) {
			t.Fatalf("audit entry: %+v", a)
		}
		got = append(got, a.Actor+":"+a.Action+":"+a.Outcome)
	}
	want := "api:operator:pause:accepted api:operator:pause:accepted api:operator:retry:accepted api:operator:retry:accepted " +
		"api:operator:resume:accepted api:operator:cancel:accepted api:operator:cancel:accepted " +
		"api:operator:pause:refused api:operator:resume:refused api:operator:retry:refused " +
		"api:operator:retry:refused api:operator:pause:refused api:operator:pause:refused api:operator:cancel:refused " +
		"api:reader:resume:refused"
	if strings.Join(got, " ") != want {
		t.Fatalf("audit:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if r := page.Items[1].Reason; !strings.Contains(r, "invalid JSON body") {
		t.Fatalf("a refusal for bad input says why: %q", r)
	}
	if page.Items[len(page.Items)-1].Reason != "holiday freeze" {
		t.Fatalf("the pause's reason is not in the audit log: %+v", page.Items[len(page.Items)-1])
	}
}

func TestActionOnAwaitingRunIsAConflict(t *testing.T) {
	ctl, _ := withControl(t)
	e := newEnv(t, ctl)
	s := e.seed([]string{"bump-go"}, []string{"acme/a"})
	if _, err := e.st.Pool().Exec(context.Background(), `UPDATE runs SET state = 'awaiting_approval' WHERE id = $1`, s.runID); err != nil {
		t.Fatal(err)
	}
	// Run control itself refuses (ErrWrongState): the API says 409.
	code, _, out := e.act(e.write, "retry", s.runID, nil)
	if eb := wantError(t, "retry of an awaiting run", code, out, 409, api.CodeConflict); !strings.Contains(eb.Error.Message, "awaiting_approval") {
		t.Fatalf("message: %s", eb.Error.Message)
	}
	// Pausing a run that is not running changes nothing.
	code, res, out := e.act(e.write, "pause", s.runID, nil)
	if code != 200 || res.Changed || res.Run.State != "awaiting_approval" {
		t.Fatalf("pause of an awaiting run: %d %s", code, out)
	}
}

func TestActionsWithoutControlAnswer503(t *testing.T) {
	e := newEnv(t)
	s := e.seed([]string{"bump-go"}, []string{"acme/a"})
	code, _, out := e.act(e.write, "pause", s.runID, nil)
	wantError(t, "no control", code, out, 503, api.CodeUnavailable)
	if d := e.runState(s.runID); d.State != "running" {
		t.Fatalf("state changed: %s", d.State)
	}
}
