package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
)

// serveExtras serves what a person looking at a kept sandbox wants besides
// the app and the fake: the asynq queue (what is pending, scheduled,
// retrying, archived) as JSON. It listens next to the app.
func (s *Sandbox) serveExtras(ctx context.Context) error {
	addr := "127.0.0.1:0"
	if s.opts.Keep && s.opts.Addr == keepAddr {
		addr = keepExtrasAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w", addr, err)
	}
	opt, err := redis.ParseURL(s.cfg.RedisURL)
	if err != nil {
		ln.Close()
		return fmt.Errorf("sandbox: REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /queues", func(w http.ResponseWriter, r *http.Request) {
		info, err := insp.GetQueueInfo(queue.Tasks)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"queue": info.Queue, "size": info.Size, "pending": info.Pending, "active": info.Active,
			"scheduled": info.Scheduled, "retry": info.Retry, "archived": info.Archived, "completed": info.Completed,
			"processed_today": info.Processed, "failed_today": info.Failed, "paused": info.Paused,
			"latency_seconds": info.Latency.Seconds(),
		})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.extraURL = "http://" + ln.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		go func() { <-ctx.Done(); _ = srv.Close() }()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.fail(fmt.Errorf("queue view: %w", err))
		}
		_ = insp.Close()
		_ = rdb.Close()
	}()
	return nil
}

// apiToken mints a write-scope API token on the sandbox's database, as
// `campaignbot tokens create` does, so `campaignbot ctl` can drive the
// kept sandbox (the token dies with the database).
func (s *Sandbox) apiToken(ctx context.Context) (string, error) {
	secret, _, err := app.CreateAPIToken(ctx, s.cfg, "sandbox", store.ScopeWrite, "sandbox")
	if err != nil {
		return "", fmt.Errorf("sandbox: create an API token for campaignbot ctl: %w", err)
	}
	return secret, nil
}

// printURLs says where to look at a kept sandbox and how to drive it with
// campaignbot ctl.
func (s *Sandbox) printURLs(token, campaign string) {
	s.n.Plain("\nWhere to look (everything stays up until Ctrl-C):")
	s.n.Plain("  GitHub (githubfake)     %s/_web/%s   repositories, pull requests with diffs and checks", s.fake.URL(), "octo-org")
	s.n.Plain("  request accounting      %s/_fake/stats", s.fake.URL())
	s.n.Plain("  campaignbot metrics     %s/metrics", s.appURL)
	s.n.Plain("  campaignbot health      %s/readyz", s.appURL)
	s.n.Plain("  asynq queue            %s/queues", s.extraURL)
	s.n.Plain("  logs                    %s", s.logPath)
	s.n.Plain("  act as a person: curl -X POST %s/_fake/comment -d '{...}' (see fixtures/githubfake/control.go)", s.fake.URL())
	s.n.Plain("\nDrive it with campaignbot ctl (a write-scope API token, gone with the sandbox):")
	s.n.Plain("  export CAMPAIGN_API_URL=%s CAMPAIGN_API_TOKEN=%s", s.appURL, token)
	s.n.Plain("  go run ./cmd/campaignbot ctl status %s", campaign)
}
