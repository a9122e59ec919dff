package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// check is one dependency a readiness probe pings.
type check struct {
	name string
	ping func(context.Context) error
}

// healthHandler serves what an orchestrator and Prometheus need from a
// role without a public HTTP surface (the worker): GET /healthz (the
// process answers), GET /readyz (every check answers within 2 s; the JSON
// body names the failing one) and GET /metrics. No pprof here: that stays
// on CAMPAIGN_DEBUG_ADDR.
func healthHandler(checks []check, metrics prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, map[string]string{"status": "ok", "version": Version})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, body := http.StatusOK, map[string]string{}
		for _, c := range checks {
			body[c.name] = "ok"
			if err := c.ping(ctx); err != nil {
				status, body[c.name] = http.StatusServiceUnavailable, err.Error()
			}
		}
		writeStatus(w, status, body)
	})
	if metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	}
	return mux
}

// serveHealth serves h on addr until ctx ends.
func serveHealth(ctx context.Context, addr string, h http.Handler, logger zerolog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("worker health endpoint: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	logger.Info().Str("addr", ln.Addr().String()).Msg("worker health endpoint listening (/healthz, /readyz, /metrics)")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("worker health endpoint: %w", err)
	}
	return nil
}

// workerHealth is the worker's health handler: PostgreSQL and Redis must answer.
func (w *Worker) workerHealth() http.Handler {
	return healthHandler([]check{
		{"database", w.store.Ping},
		{"redis", func(ctx context.Context) error { return w.redis.Ping(ctx).Err() }},
	}, w.metrics)
}
