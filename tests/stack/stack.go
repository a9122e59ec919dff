// Package stack starts campaignbot's whole backend for integration tests:
// githubfake as GitHub, a fresh PostgreSQL database, a Redis database of
// its own, the HTTP server (githubfake's webhooks point at it) and a
// worker. Everything stops when the test ends.
package stack

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

// WebhookSecret is the secret githubfake signs deliveries with.
const WebhookSecret = "stack-webhook-secret"

// Stack is one running backend.
type Stack struct {
	T      testing.TB
	Fake   *githubfake.Fake
	Store  *store.Store
	Config config.Config
	Server *httptest.Server

	mu         sync.Mutex
	stopWorker func()
}

// New starts the stack; mutate adjusts the configuration first.
func New(t testing.TB, mutate ...func(*config.Config)) *Stack {
	t.Helper()
	return NewWith(t, Options{}, mutate...)
}

// NewWith starts the stack with options; mutate adjusts the configuration first.
func NewWith(t testing.TB, o Options, mutate ...func(*config.Config)) *Stack {
	t.Helper()
	fake := githubfake.NewT(t, o.Fake...)
	st, dbURL := storetest.NewStore(t)
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.RedisURL = storetest.NewRedis(t)
	cfg.GitHub.V3APIURL = fake.V3URL()
	cfg.GitHub.V4APIURL = fake.V4URL()
	cfg.GitHub.App.IntegrationID = fake.AppID()
	cfg.GitHub.App.PrivateKey = string(fake.PrivateKeyPEM())
	cfg.GitHub.App.WebhookSecret = WebhookSecret
	cfg.Worker.Concurrency = 8
	cfg.Worker.ShutdownTimeout = time.Second
	cfg.Log.Level = "warn"
	cfg.Runner.GitURL = fake.GitURL()
	cfg.Runner.ArtifactDir = t.TempDir()
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Validate(config.RoleWorker); err != nil {
		t.Fatal(err)
	}
	srv, err := app.NewServer(context.Background(), cfg, testLogger(t, "server"))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	fake.SetWebhook(hs.URL+"/api/github/hook", WebhookSecret)
	s := &Stack{T: t, Fake: fake, Store: st, Config: cfg, Server: hs}
	if !o.NoWorker {
		s.StartWorker(o.Worker...)
	}
	return s
}

// StartWorker starts a worker (New starts one); StopWorker stops it.
func (s *Stack) StartWorker(opts ...app.WorkerOption) {
	s.T.Helper()
	w, err := app.NewWorker(context.Background(), s.Config, testLogger(s.T, "worker"), opts...)
	if err != nil {
		s.T.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; w.Close() }) }
	s.mu.Lock()
	s.stopWorker = stop
	s.mu.Unlock()
	s.T.Cleanup(stop)
}

// StopWorker stops the running worker.
func (s *Stack) StopWorker() {
	s.mu.Lock()
	stop := s.stopWorker
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Settle waits until githubfake has delivered every webhook and the
// worker has processed every stored delivery.
func (s *Stack) Settle() {
	s.T.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := s.Fake.FlushWebhooks(ctx); err != nil {
			s.T.Fatal(err)
		}
		open := 0
		for _, state := range []string{store.DeliveryPending, store.DeliveryProcessing, store.DeliveryFailed} {
			n, err := s.Store.CountDeliveries(ctx, state)
			if err != nil {
				s.T.Fatal(err)
			}
			open += n
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.T.Fatalf("stack did not settle: %d deliveries unprocessed", open)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitFor polls cond until it holds or 30 s pass.
func (s *Stack) WaitFor(what string, cond func() bool) {
	s.T.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.T.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testLogger is silent unless STACK_LOG names a level (STACK_LOG=debug go
// test ./tests/slack -run X -v): then the server's and worker's logs go to
// the test's output.
func testLogger(t testing.TB, role string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(os.Getenv("STACK_LOG"))
	if os.Getenv("STACK_LOG") == "" || err != nil {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: testWriter{t}, NoColor: true}).Level(lvl).With().Timestamp().Str("role", role).Logger()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// RunTasks reads a run's repo tasks.
func (s *Stack) RunTasks(runID int64) []store.RepoTask {
	s.T.Helper()
	ts, err := s.Store.RunTasks(context.Background(), runID)
	if err != nil {
		s.T.Fatal(err)
	}
	return ts
}

// TaskStates counts a run's repo tasks by state.
func (s *Stack) TaskStates(runID int64) map[string]int {
	s.T.Helper()
	return StateCounts(s.RunTasks(runID))
}

// StateCounts counts tasks by state.
func StateCounts(ts []store.RepoTask) map[string]int {
	out := map[string]int{}
	for _, t := range ts {
		out[t.State]++
	}
	return out
}
