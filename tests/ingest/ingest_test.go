// Package ingest_test exercises durable webhook ingestion end to end
// against real PostgreSQL and Redis: the HTTP endpoint, the Asynq
// scheduler, the worker, the sweeper and the dead-letter queue.
package ingest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

func comment(body string) []byte {
	return []byte(fmt.Sprintf(`{"action":"created","installation":{"id":42,"node_id":"x"},"repository":{"full_name":"octo-org/control"},"comment":{"body":%q}}`, body))
}

func TestValidDeliveryIsStoredQueuedAndProcessed(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder("issue_comment")
	e.startWorker(rec)

	code, body := e.post("issue_comment", "d-valid", comment("/campaign help"), "")
	if code != http.StatusAccepted || !strings.Contains(body, `"outcome":"accepted"`) {
		t.Fatalf("got %d %s", code, body)
	}
	if n := e.rows(); n != 1 {
		t.Fatalf("rows = %d, want 1", n)
	}
	waitFor(t, "the delivery to be processed", func() bool { return rec.completed("d-valid") == 1 })
	d, err := e.store.GetDelivery(context.Background(), "d-valid")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the row to say processed", func() bool {
		d, _ = e.store.GetDelivery(context.Background(), "d-valid")
		return d.State == store.DeliveryProcessed
	})
	if d.Event != "issue_comment" || d.Action != "created" || d.InstallationID != 42 || d.Repository != "octo-org/control" {
		t.Fatalf("row metadata wrong: %+v", d)
	}
}

func TestBadSignatureIsRefusedAndNothingStored(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, sig string }{
		{"missing", "-"},
		{"wrong", "sha256=" + strings.Repeat("0", 64)},
		{"sha1 only", "sha1=0123"},
		{"garbage", "nonsense"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.post("issue_comment", "d-sig-"+tc.name, comment("x"), tc.sig)
			if code != http.StatusUnauthorized || !strings.Contains(body, "X-Hub-Signature-256") {
				t.Fatalf("got %d %s", code, body)
			}
		})
	}
	if e.rows() != 0 || e.queued() != 0 {
		t.Fatalf("rows=%d tasks=%d, want none", e.rows(), e.queued())
	}
}

func TestMalformedJSONWithValidSignatureIs400(t *testing.T) {
	e := newEnv(t)
	for i, body := range []string{`{"action":`, `[1,2]`, `null`, ``} {
		code, resp := e.post("issue_comment", fmt.Sprintf("d-bad-%d", i), []byte(body), "")
		if code != http.StatusBadRequest || !strings.Contains(resp, "message") {
			t.Fatalf("body %q: got %d %s", body, code, resp)
		}
	}
	if e.rows() != 0 || e.queued() != 0 {
		t.Fatalf("rows=%d tasks=%d, want none", e.rows(), e.queued())
	}
}

func TestSameDeliveryFiveTimesIsProcessedOnce(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder("issue_comment")
	// Sequential repeats, then concurrent repeats of another delivery.
	for range 5 {
		if code, body := e.post("issue_comment", "d-seq", comment("a"), ""); code != http.StatusAccepted {
			t.Fatalf("got %d %s", code, body)
		}
	}
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); c, _ := e.post("issue_comment", "d-conc", comment("b"), ""); codes <- c }()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusAccepted {
			t.Fatalf("concurrent repeat answered %d", c)
		}
	}
	if e.rows() != 2 || e.queued() != 2 {
		t.Fatalf("rows=%d tasks=%d, want 2 and 2", e.rows(), e.queued())
	}
	e.startWorker(rec)
	waitFor(t, "both deliveries", func() bool { return rec.done.Load() == 2 })
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show up
	if rec.completed("d-seq") != 1 || rec.completed("d-conc") != 1 || rec.calls.Load() != 2 {
		t.Fatalf("processed seq=%d conc=%d calls=%d, want exactly once each", rec.completed("d-seq"), rec.completed("d-conc"), rec.calls.Load())
	}
	// A replay after processing is acknowledged as a duplicate and not queued.
	code, body := e.post("issue_comment", "d-seq", comment("a"), "")
	if code != http.StatusAccepted || !strings.Contains(body, `"outcome":"duplicate"`) {
		t.Fatalf("replay: %d %s", code, body)
	}
	time.Sleep(200 * time.Millisecond)
	if rec.calls.Load() != 2 {
		t.Fatal("a replayed delivery was processed again")
	}
}

func TestPostgresUnreachableAnswers503AndQueuesNothing(t *testing.T) {
	e := newEnv(t)
	// Take the database away under the running server.
	admin, err := store.Open(context.Background(), storetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, _ := url.Parse(e.cfg.DatabaseURL)
	if _, err := admin.Pool().Exec(context.Background(), "DROP DATABASE "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	code, body := e.post("issue_comment", "d-nopg", comment("x"), "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "redeliver") {
		t.Fatalf("got %d %s", code, body)
	}
	if n := e.queued(); n != 0 {
		t.Fatalf("%d task(s) queued for a delivery that was not stored", n)
	}
	resp, err := http.Get(e.server.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d with the database gone", resp.StatusCode)
	}
}

func TestRedisUnreachableAnswers503AndRedeliveryWorks(t *testing.T) {
	var px *proxy
	e := newEnv(t, func(c *config.Config) {
		u, _ := url.Parse(c.RedisURL)
		px = newProxy(t, u.Host)
		u.Host = px.addr()
		c.RedisURL = u.String()
	})
	px.setDown(true)
	code, body := e.post("issue_comment", "d-noredis", comment("x"), "")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("got %d %s", code, body)
	}
	// The row that was stored does not swallow GitHub's redelivery.
	px.setDown(false)
	rec := newRecorder("issue_comment")
	e.startWorker(rec)
	code, body = e.post("issue_comment", "d-noredis", comment("x"), "")
	if code != http.StatusAccepted {
		t.Fatalf("redelivery: %d %s", code, body)
	}
	waitFor(t, "the redelivered delivery", func() bool { return rec.completed("d-noredis") == 1 })
	if e.rows() != 1 {
		t.Fatalf("rows = %d", e.rows())
	}
}

func TestWorkerStoppedMidTaskRunsItAgain(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder("issue_comment")
	rec.behave = func(ctx context.Context, call int64) error {
		if call == 1 { // the first run is interrupted by the shutdown
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	stop := e.startWorker(rec)
	if code, _ := e.post("issue_comment", "d-kill", comment("x"), ""); code != http.StatusAccepted {
		t.Fatal("not accepted")
	}
	select {
	case <-rec.started:
	case <-time.After(20 * time.Second):
		t.Fatal("task never started")
	}
	stop() // the worker is killed mid-task
	if rec.done.Load() != 0 {
		t.Fatal("task finished although it was interrupted")
	}
	e.startWorker(rec)
	waitFor(t, "the task to run again and finish", func() bool { return rec.completed("d-kill") == 1 })
	if rec.calls.Load() != 2 {
		t.Fatalf("calls = %d, want 2", rec.calls.Load())
	}
}

func TestFailingTaskLandsInDLQAndCanBeReplayed(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Worker.MaxRetry = 0 })
	rec := newRecorder("issue_comment")
	var failing = true
	var mu sync.Mutex
	rec.behave = func(context.Context, int64) error {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return errBoom
		}
		return nil
	}
	e.startWorker(rec)
	if code, _ := e.post("issue_comment", "d-dlq", comment("x"), ""); code != http.StatusAccepted {
		t.Fatal("not accepted")
	}
	opt, _ := redis.ParseURL(e.redisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	dl := queue.NewDeadLetters(rdb)
	var dead []queue.DeadTask
	waitFor(t, "the task in the dead-letter queue", func() bool {
		dead, _ = dl.List(10)
		return len(dead) == 1
	})
	if !strings.Contains(dead[0].LastError, "boom") || dead[0].Type != queue.TypeWebhook {
		t.Fatalf("dead task = %+v", dead[0])
	}
	d, _ := e.store.GetDelivery(context.Background(), "d-dlq")
	if d.State != store.DeliveryFailed || !strings.Contains(d.LastError, "boom") {
		t.Fatalf("row = %+v", d)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	if err := dl.Replay(dead[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replayed task", func() bool { return rec.completed("d-dlq") == 1 })
}

func TestSweeperRequeuesWhatRedisLost(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Worker.SweepAge = time.Millisecond })
	for i := range 3 {
		if code, _ := e.post("issue_comment", fmt.Sprintf("d-lost-%d", i), comment("x"), ""); code != http.StatusAccepted {
			t.Fatal("not accepted")
		}
	}
	opt, _ := redis.ParseURL(e.redisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.FlushDB(context.Background()).Err(); err != nil { // Redis loses everything
		t.Fatal(err)
	}
	if e.queued() != 0 {
		t.Fatal("flush did not empty the queue")
	}
	w, err := app.NewWorker(context.Background(), e.cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	time.Sleep(5 * time.Millisecond)
	n, err := w.Sweep(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("swept %d, %v; want 3", n, err)
	}
	// A second pass finds them queued already and adds nothing.
	if n, err := w.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("second sweep requeued %d, %v", n, err)
	}
	rec := newRecorder("issue_comment")
	e.startWorker(rec)
	waitFor(t, "all lost deliveries", func() bool { return rec.done.Load() == 3 })
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	e.post("issue_comment", "d-m", comment("x"), "")
	e.post("issue_comment", "d-m2", comment("x"), "-")
	for path, want := range map[string]string{
		"/healthz": `"status":"ok"`,
		"/readyz":  `"database":"ok"`,
		"/metrics": `campaignbot_webhook_deliveries_total{event="issue_comment",outcome="invalid_signature"} 1`,
	} {
		resp, err := http.Get(e.server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		b := string(raw)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b, want) {
			t.Errorf("%s: %d, missing %q", path, resp.StatusCode, want)
		}
		if path == "/metrics" && !strings.Contains(b, `campaignbot_http_request_duration_seconds_bucket{code="202",method="POST",route="/api/github/hook"`) {
			t.Errorf("latency histogram missing")
		}
		// No worker runs here: the accepted delivery waits in the queue.
		if path == "/metrics" && !strings.Contains(b, `campaignbot_queue_depth{queue="campaign_tasks"} 1`) {
			t.Errorf("queue depth missing or wrong:\n%s", grepLines(b, "campaignbot_queue"))
		}
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
