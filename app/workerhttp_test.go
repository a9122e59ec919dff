package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store/storetest"
)

// TestWorkerHealthEndpoint serves the worker's probes against the real
// PostgreSQL and Redis, then against a Redis that is gone.
func TestWorkerHealthEndpoint(t *testing.T) {
	st, _ := storetest.NewStore(t)
	opt, err := redis.ParseURL(storetest.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	up := redis.NewClient(opt)
	t.Cleanup(func() { up.Close() })
	// A port nothing listens on: a Redis that went away.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	down := redis.NewClient(&redis.Options{Addr: deadAddr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { down.Close() })

	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "campaignbot_test_total", Help: "t"}))

	tests := []struct {
		name     string
		rdb      *redis.Client
		path     string
		want     int
		contains string
	}{
		{"alive", up, "/healthz", http.StatusOK, `"status":"ok"`},
		{"ready", up, "/readyz", http.StatusOK, `"redis":"ok"`},
		{"metrics", up, "/metrics", http.StatusOK, "campaignbot_test_total"},
		{"no pprof", up, "/debug/pprof/", http.StatusNotFound, ""},
		{"alive without redis", down, "/healthz", http.StatusOK, `"status":"ok"`},
		{"not ready without redis", down, "/readyz", http.StatusServiceUnavailable, `"database":"ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &Worker{store: st, redis: tt.rdb, metrics: reg}
			ctx, cancel := context.WithCancel(context.Background())
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			done := make(chan error, 1)
			go func() { done <- serveHealth(ctx, addr, w.workerHealth(), zerolog.Nop()) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serveHealth: %v", err)
				}
			}()
			var resp *http.Response
			for i := 0; i < 100; i++ {
				if resp, err = http.Get("http://" + addr + tt.path); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("GET %s: %v", tt.path, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want || !strings.Contains(string(body), tt.contains) {
				t.Errorf("GET %s: %d %s, want %d containing %s", tt.path, resp.StatusCode, body, tt.want, tt.contains)
			}
			if tt.path == "/readyz" && tt.want != http.StatusOK {
				var checks map[string]string
				if err := json.Unmarshal(body, &checks); err != nil || checks["redis"] == "ok" || checks["redis"] == "" {
					t.Errorf("readyz body %s does not name the failing redis", body)
				}
			}
		})
	}
}

func TestWorkerHealthEndpointPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = serveHealth(context.Background(), l.Addr().String(), healthHandler(nil, nil), zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("serveHealth on a taken port: %v", err)
	}
}
