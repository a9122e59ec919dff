package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/handlers/webhook"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/store"
)

// Server is the HTTP role: GitHub webhooks, health and metrics.
type Server struct {
	cfg     config.Config
	logger  zerolog.Logger
	store   *store.Store
	redis   *redis.Client
	queue   *queue.Client
	batcher *store.DeliveryBatcher
	handler http.Handler
}

// NewServer connects to PostgreSQL and Redis and builds the HTTP handler.
// cfg must have passed Validate(config.RoleServer).
func NewServer(ctx context.Context, cfg config.Config, logger zerolog.Logger) (*Server, error) {
	st, rdb, cc, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: logger, store: st, redis: rdb, queue: queue.NewClient(rdb, cfg.Worker.MaxRetry),
		// Concurrent deliveries share INSERTs and commits (group commit).
		batcher: store.NewDeliveryBatcher(st, 2, 128)}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	httpMetrics := newHTTPMetrics(reg)
	// Queue depth for dashboards and the workers' HPA: exported by the
	// server (always up, behind a Service), read from Redis when scraped.
	reg.MustRegister(queue.NewMetrics(rdb))

	// The server's handlers are the worker's: the dispatcher uses them only
	// to know which events to store; the worker runs them.
	targets := newTargets(cfg, cc, st)
	handlers := eventHandlers(cfg, cc, st, targets, nil, nil)
	endpoint := webhook.NewEndpoint(webhook.EndpointConfig{
		Secret:   cfg.GitHub.App.WebhookSecret,
		MaxBytes: cfg.Campaign.MaxWebhookBytes,
		Handlers: handlers,
		Metrics:  webhook.NewMetrics(reg),
	}, webhook.NewScheduler(s.batcher, s.queue))

	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.Handler) {
		mux.Handle(pattern, httpMetrics.wrap(route, h))
	}
	handle("POST "+webhook.Route, webhook.Route, endpoint)
	handle("GET /healthz", "/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, map[string]string{"status": "ok", "version": Version})
	}))
	handle("GET /readyz", "/readyz", http.HandlerFunc(s.ready))
	handle("GET /metrics", "/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	var storage artifacts.Storage // nil: the API opens it when first asked for logs
	if keys := cfg.Runner.ArtifactKeyList(); len(keys) > 0 {
		// The artifact proxy: Jobs upload results with per-task tokens.
		signer, err := artifacts.NewSigner(keys)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("artifact signer: %w", err)
		}
		storage, err = newArtifactStorage(cfg)
		if err != nil {
			s.Close()
			return nil, err
		}
		h := artifacts.NewHandler(storage, signer, st, artifacts.WithLogger(logger))
		handle(artifacts.PathPrefix+"/", artifacts.PathPrefix, http.StripPrefix(artifacts.PathPrefix, h))
	}
	// Run control for the Slack commands and the REST API; its updates
	// reach the dashboard and Slack like the worker's.
	svc := newServices(cfg, cc, st, s.queue, rdb, slackProgress(cfg, st, s.queue))
	slackRoutes(cfg, cc, st, svc.control, handle)
	// The REST API (docs/api/rest.md).
	handle(api.Prefix, "/api/v1", newAPI(cfg, cc, st, targets, storage, svc.control))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, map[string]string{"message": "no route for " + r.Method + " " + r.URL.Path})
	}))
	s.handler = withLogger(logger, mux)
	return s, nil
}

// Handler is the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases the connections.
func (s *Server) Close() {
	s.batcher.Close()
	s.queue.Close()
	s.redis.Close()
	s.store.Close()
}

// Run serves on cfg.Campaign.HTTPAddr (or ln if given) until ctx ends,
// then drains in-flight requests within the shutdown timeout.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Campaign.HTTPAddr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.cfg.Campaign.HTTPAddr, err)
		}
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.logger.WithContext(context.Background()) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if s.cfg.Campaign.DebugAddr != "" {
		go serveDebug(ctx, s.cfg.Campaign.DebugAddr, s.logger, nil)
	}
	s.logger.Info().Str("addr", ln.Addr().String()).Str("version", Version).Msg("server listening")
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info().Msg("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Campaign.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		checks["database"], status = err.Error(), http.StatusServiceUnavailable
	}
	if err := s.redis.Ping(ctx).Err(); err != nil {
		checks["redis"], status = err.Error(), http.StatusServiceUnavailable
	}
	writeStatus(w, status, checks)
}

func writeStatus(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func withLogger(logger zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(logger.WithContext(r.Context())))
	})
}

type httpMetrics struct {
	latency *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "campaignbot_http_request_duration_seconds",
		Help:    "HTTP request latency by route, method and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method", "code"})}
	reg.MustRegister(m.latency)
	return m
}

func (m *httpMetrics) wrap(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.latency.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

var _ githubapp.Scheduler = (*webhook.Scheduler)(nil)
