package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/events"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/handlers/webhook"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/store"
)

// Worker is the Asynq role: it runs the handlers for every stored delivery
// and sweeps for deliveries whose queue entry was lost.
type Worker struct {
	cfg      config.Config
	logger   zerolog.Logger
	store    *store.Store
	redis    *redis.Client
	queue    *queue.Client
	mux      *asynq.ServeMux
	sweepers []tasks.Sweeper
	cc       githubapp.ClientCreator
	metrics  *prometheus.Registry
}

// WorkerOption customises a Worker (tests add handlers).
type WorkerOption func(*workerOptions)

type workerOptions struct {
	extra        []githubapp.EventHandler
	executor     runner.Executor
	results      ResultStore
	noPublishing bool
}

// ResultStore keeps execution results and reads them back for publishing.
type ResultStore interface {
	orchestrator.ResultStore
	orchestrator.ResultReader
}

// WithoutPublishing leaves patch_ready tasks unpublished (tests of execution alone).
func WithoutPublishing() WorkerOption {
	return func(o *workerOptions) { o.noPublishing = true }
}

// WithEventHandlers puts handlers before the built-in ones.
func WithEventHandlers(h ...githubapp.EventHandler) WorkerOption {
	return func(o *workerOptions) { o.extra = append(o.extra, h...) }
}

// WithExecutor replaces the configured executor (tests, the sandbox).
func WithExecutor(e runner.Executor) WorkerOption {
	return func(o *workerOptions) { o.executor = e }
}

// WithResultStore replaces where execution results are kept.
func WithResultStore(r ResultStore) WorkerOption {
	return func(o *workerOptions) { o.results = r }
}

// NewWorker connects to PostgreSQL and Redis and registers the task
// handlers. cfg must have passed Validate(config.RoleWorker).
func NewWorker(ctx context.Context, cfg config.Config, logger zerolog.Logger, opts ...WorkerOption) (*Worker, error) {
	var o workerOptions
	for _, opt := range opts {
		opt(&o)
	}
	st, rdb, cc, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	q := queue.NewClient(rdb, cfg.Worker.MaxRetry)
	mux := asynq.NewServeMux()
	reg := prometheus.NewRegistry()
	// Every run update reaches the dashboard and, when configured, Slack.
	var slackSweepers []tasks.Sweeper
	svc := newServices(cfg, cc, st, q, rdb, func(kill status.KillSwitch, dashboards orchestrator.Progress) orchestrator.Progress {
		progress, sweepers := withSlack(cfg, st, q, mux, reg, kill, dashboards)
		slackSweepers = sweepers
		return progress
	})
	dashboards, progress := svc.dashboards, svc.progress
	rec := newReconciler(cfg, cc, st, q, svc, progress)
	handlers := append(o.extra, eventHandlers(cfg, cc, st, svc.targets, svc.starter, svc.control, func(d *events.Deps) { d.Tracker = rec })...)
	proc := webhook.NewProcessor(st, handlers, webhook.NewMetrics(reg))

	mux.HandleFunc(queue.TypeWebhook, proc.ProcessTask)
	mux.Handle(queue.TypeDashboard, asynq.HandlerFunc((&tasks.Dashboard{Dashboards: dashboards}).ProcessTask))
	if o.results == nil || o.executor == nil {
		storage, err := newArtifactStorage(cfg)
		if err != nil {
			st.Close()
			rdb.Close()
			return nil, err
		}
		results := artifacts.Results{Storage: storage, Meta: st}
		if o.results == nil {
			o.results = results
		}
		if o.executor == nil {
			if o.executor, err = newExecutor(cfg, cc, logger, results); err != nil {
				st.Close()
				rdb.Close()
				return nil, err
			}
		}
	}
	sweepers := []tasks.Sweeper{webhook.NewSweeper(st, q, cfg.Worker.SweepAge), orchestrator.NewTaskSweeper(st, q, cfg.Worker.SweepAge)}
	sweepers = append(sweepers, slackSweepers...)
	var publishQueue orchestrator.PublishQueue
	if !o.noPublishing {
		ghPublisher := tasks.Publisher{ClientCreator: cc, Publisher: svc.publisher, GraphQLURL: cfg.GitHub.V4APIURL}
		publishing := orchestrator.NewPublishing(st, o.results, ghPublisher, svc.control, progress, 5*time.Minute)
		publishing.SetSettler(svc.completion)
		closing := orchestrator.NewClosing(st, ghPublisher, svc.completion)
		mux.Handle(queue.TypeClosePR, asynq.HandlerFunc((&tasks.Close{Closing: closing}).ProcessTask))
		mux.Handle(queue.TypePublish, asynq.HandlerFunc((&tasks.Publish{Publishing: publishing}).ProcessTask))
		sweepers = append(sweepers, orchestrator.NewPublishSweeper(st, q, cfg.Worker.SweepAge))
		publishQueue = q
	}
	{
		gitURL := cfg.Runner.GitURL
		r := orchestrator.NewRunner(st, o.executor, o.results, orchestrator.RunnerConfig{
			CloneURL:    func(repo string) string { return gitURL + repo + ".git" },
			Lease:       cfg.Runner.Lease,
			MaxAttempts: cfg.Runner.MaxAttempts,
			Progress:    progress,
			Slots:       queue.NewSlots(rdb),
			Caps: orchestrator.Caps{Global: cfg.Runner.MaxTasks, PerInstallation: cfg.Runner.MaxTasksPerInstallation,
				PerCampaign: cfg.Runner.MaxTasksPerCampaign},
			Publish: publishQueue,
			Settle:  svc.completion,
		})
		mux.Handle(queue.TypeExecute, asynq.HandlerFunc((&tasks.Execute{Runner: r}).ProcessTask))
	}
	sweepers = append(sweepers, registerReconciler(mux, cfg, cc, st, q, rec, o.executor, progress))
	w := &Worker{
		cfg: cfg, logger: logger, store: st, redis: rdb, queue: q, mux: mux, cc: cc,
		sweepers: sweepers, metrics: reg,
	}
	return w, nil
}

// Sweep runs one pass of every sweeper now and returns how much they
// enqueued again.
func (w *Worker) Sweep(ctx context.Context) (int, error) {
	total := 0
	for _, s := range w.sweepers {
		n, err := s.Sweep(w.logger.WithContext(ctx))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Metrics gathers the worker's own metrics (Slack notification failures,
// webhook processing).
func (w *Worker) Metrics() prometheus.Gatherer { return w.metrics }

// Close releases the connections.
func (w *Worker) Close() {
	w.queue.Close()
	w.redis.Close()
	w.store.Close()
}

// Run processes tasks until ctx ends. On shutdown, tasks still running
// after the shutdown timeout are handed back to the queue and run again
// by the next worker.
func (w *Worker) Run(ctx context.Context) error {
	baseCtx := w.logger.WithContext(context.Background())
	srv := asynq.NewServerFromRedisClient(w.redis, asynq.Config{
		Concurrency:    w.cfg.Worker.Concurrency,
		Queues:         map[string]int{queue.Tasks: 1},
		BaseContext:    func() context.Context { return baseCtx },
		RetryDelayFunc: retryDelay,
		// Delayed tasks (coalesced dashboard and Slack updates, throttled
		// publishes) become runnable within a second of their time, not
		// asynq's default five: one cheap ZRANGEBYSCORE a second per worker.
		DelayedTaskCheckInterval: time.Second,
		// Waiting for a lease or a throttle is not a failed attempt.
		IsFailure:       func(err error) bool { _, wait := queue.IsRetryLater(err); return !wait },
		ShutdownTimeout: w.cfg.Worker.ShutdownTimeout,
		Logger:          asynqLogger{w.logger.With().Str("component", "asynq").Logger()},
		LogLevel:        asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			if retried >= maxRetry || webhook.IsPermanent(err) {
				id, _ := asynq.GetTaskID(ctx)
				w.logger.Error().Err(err).Str("task_id", id).Str("type", t.Type()).
					Msg("task failed for good; moved to the dead-letter queue (campaignbot dlq replay)")
			}
		}),
	})
	if err := srv.Start(w.mux); err != nil {
		return fmt.Errorf("start asynq server: %w", err)
	}
	w.logger.Info().Int("concurrency", w.cfg.Worker.Concurrency).Str("queue", queue.Tasks).Str("version", Version).Msg("worker started")
	go func() {
		cctx, cancel := context.WithTimeout(baseCtx, 30*time.Second)
		defer cancel()
		if err := checkControlRepo(cctx, w.cc, w.cfg.Campaign.ControlRepo, w.logger); err != nil {
			w.logger.Warn().Err(err).Msg("could not check the control repository's installation")
		}
	}()
	if addr := w.cfg.Worker.HTTPAddr; addr != "" {
		go func() {
			if err := serveHealth(ctx, addr, w.workerHealth(), w.logger); err != nil {
				w.logger.Error().Err(err).Msg("worker health endpoint stopped")
			}
		}()
	}
	if w.cfg.Campaign.DebugAddr != "" {
		// The worker's metrics (Slack notification failures) and pprof.
		go serveDebug(ctx, w.cfg.Campaign.DebugAddr, w.logger, w.metrics)
	}
	sweepCtx, stopSweep := context.WithCancel(baseCtx)
	done := make(chan struct{})
	go func() { defer close(done); tasks.RunSweepers(sweepCtx, w.cfg.Worker.SweepInterval, w.sweepers...) }()
	<-ctx.Done()
	w.logger.Info().Msg("shutting down: waiting for running tasks")
	stopSweep()
	<-done
	srv.Shutdown()
	return nil
}

// retryDelay is exponential backoff with jitter: 1s, 2s, 4s ... capped at
// 10 minutes; a RetryLater says its own delay.
func retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if rl, ok := queue.IsRetryLater(err); ok {
		return rl.After
	}
	d := time.Second << min(n, 10)
	if d > 10*time.Minute {
		d = 10 * time.Minute
	}
	return d/2 + rand.N(d/2+1)
}

// asynqLogger sends asynq's own logs through zerolog.
type asynqLogger struct{ l zerolog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error().Msg(fmt.Sprint(args...)) }
