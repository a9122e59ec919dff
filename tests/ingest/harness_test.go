package ingest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

const secret = "test-webhook-secret"

// env is one test's isolated stack: its own database and Redis database.
type env struct {
	t        *testing.T
	cfg      config.Config
	store    *store.Store
	redisURL string
	server   *httptest.Server
	srv      *app.Server
}

func newEnv(t *testing.T, mutate ...func(*config.Config)) *env {
	t.Helper()
	st, dbURL := storetest.NewStore(t)
	redisURL := storetest.NewRedis(t)
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.RedisURL = redisURL
	cfg.GitHub.V3APIURL = "http://127.0.0.1:1/"
	cfg.GitHub.V4APIURL = "http://127.0.0.1:1/graphql"
	cfg.GitHub.App.IntegrationID = 1
	cfg.GitHub.App.WebhookSecret = secret
	cfg.GitHub.App.PrivateKey = testKey(t)
	cfg.Worker.Concurrency = 4
	cfg.Worker.ShutdownTimeout = 500 * time.Millisecond
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Validate(config.RoleServer); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cfg: cfg, store: st, redisURL: redisURL}
	e.startServer()
	return e
}

func (e *env) startServer() {
	srv, err := app.NewServer(context.Background(), e.cfg, zerolog.Nop())
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.server = httptest.NewServer(srv.Handler())
	e.t.Cleanup(func() { e.server.Close(); srv.Close() })
}

var keyOnce struct {
	sync.Once
	pem string
}

func testKey(t *testing.T) string {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keyOnce.pem = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	})
	return keyOnce.pem
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post sends a delivery; signature "" means sign correctly, "-" means none.
func (e *env) post(event, delivery string, body []byte, signature string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/api/github/hook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	switch signature {
	case "":
		req.Header.Set("X-Hub-Signature-256", sign(body))
	case "-":
	default:
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) rows() int {
	e.t.Helper()
	n, err := e.store.CountDeliveries(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// queued counts tasks in every state of campaign_tasks.
func (e *env) queued() int {
	e.t.Helper()
	opt, _ := redis.ParseURL(e.redisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(queue.Tasks)
	if err != nil {
		return 0 // the queue does not exist until something is enqueued
	}
	return info.Pending + info.Active + info.Scheduled + info.Retry + info.Archived
}

// recorder is an event handler that counts and can block or fail.
type recorder struct {
	events  []string
	calls   atomic.Int64
	done    atomic.Int64
	mu      sync.Mutex
	byID    map[string]int
	started chan string
	behave  func(ctx context.Context, call int64) error
}

func newRecorder(events ...string) *recorder {
	return &recorder{events: events, byID: map[string]int{}, started: make(chan string, 100)}
}

func (r *recorder) Handles() []string { return r.events }

func (r *recorder) Handle(ctx context.Context, _, id string, _ []byte) error {
	call := r.calls.Add(1)
	r.started <- id
	if r.behave != nil {
		if err := r.behave(ctx, call); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.byID[id]++
	r.mu.Unlock()
	r.done.Add(1)
	return nil
}

func (r *recorder) completed(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

// startWorker runs a worker until the returned stop is called.
func (e *env) startWorker(h *recorder) (stop func()) {
	e.t.Helper()
	w, err := app.NewWorker(context.Background(), e.cfg, zerolog.Nop(), app.WithEventHandlers(h))
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done; w.Close() }) }
	e.t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proxy is a TCP proxy in front of a real service that a test can take down.
type proxy struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[u] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close() }()
		go func() { _, _ = io.Copy(c, u); c.Close() }()
	}
}

// setDown drops every open connection and refuses new ones until set up again.
func (p *proxy) setDown(down bool) {
	p.down.Store(down)
	if down {
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]struct{}{}
		p.mu.Unlock()
	}
}

var errBoom = errors.New("boom")
