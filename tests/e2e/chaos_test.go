package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func redisClient(t *testing.T, raw string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// tcpProxy sits between the app and PostgreSQL; cut drops every
// connection and refuses new ones for a while.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	down   bool
	n      int
}

// newTCPProxy proxies the database URL's host and returns the URL through the proxy.
func newTCPProxy(t *testing.T, dbURL string) (*tcpProxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.closeAll() })
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *tcpProxy) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *tcpProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// cut drops every connection now and refuses new ones for d.
func (p *tcpProxy) cut(d time.Duration) {
	p.mu.Lock()
	p.down = true
	p.n++
	p.mu.Unlock()
	p.closeAll()
	time.Sleep(d)
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *tcpProxy) cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// githubChaos answers some API requests the way GitHub does on a bad
// day, before they reach the fake (so they have no effect): a
// secondary-limit refusal for content-creating requests, 502 for any.
// git traffic is left alone (clones have their own retries).
type githubChaos struct {
	secondaryRate, badGatewayRate float64
	on                            atomic.Bool
	mu                            sync.Mutex
	rng                           *rand.Rand
	secondary, badGateway         int
}

func (g *githubChaos) enable()  { g.on.Store(true) }
func (g *githubChaos) disable() { g.on.Store(false) }

func (g *githubChaos) counts() (int, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.secondary, g.badGateway
}

func (g *githubChaos) roll(p float64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rng == nil {
		g.rng = rand.New(rand.NewPCG(10, 2026))
	}
	return g.rng.Float64() < p
}

func (g *githubChaos) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.on.Load() || strings.HasPrefix(r.URL.Path, "/git/") || strings.HasPrefix(r.URL.Path, "/_") {
			next.ServeHTTP(w, r)
			return
		}
		if contentCreating(r) && g.roll(g.secondaryRate) {
			g.mu.Lock()
			g.secondary++
			g.mu.Unlock()
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
			})
			return
		}
		if g.roll(g.badGatewayRate) {
			g.mu.Lock()
			g.badGateway++
			g.mu.Unlock()
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// contentCreating: REST writes (not App token requests) and GraphQL mutations.
func contentCreating(r *http.Request) bool {
	if strings.HasSuffix(r.URL.Path, "/graphql") {
		body, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		return err == nil && bytes.Contains(body, []byte("mutation"))
	}
	if strings.Contains(r.URL.Path, "/app/") {
		return false
	}
	return r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut || r.Method == http.MethodDelete
}

// lossyHook forwards webhook deliveries to the app, losing a share of
// them (answered 502, as an overloaded load balancer would).
type lossyHook struct {
	*httptest.Server
	mu          sync.Mutex
	rng         *rand.Rand
	lost, count int
}

func newLossyHook(t *testing.T, appURL string, loss float64) *lossyHook {
	t.Helper()
	target, err := url.Parse(appURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	h := &lossyHook{rng: rand.New(rand.NewPCG(30, 2026))}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.count++
		lose := h.rng.Float64() < loss
		if lose {
			h.lost++
		}
		h.mu.Unlock()
		if lose {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *lossyHook) dropped() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost
}

func (h *lossyHook) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}
