// Package sandbox is `campaignbot sandbox`: the whole life of a campaign
// in one process, against githubfake. It seeds a demo organisation
// (fixtures/demo), starts campaignbot's server and worker with the local
// executor on a database of its own, plays a scripted story as the
// people around a campaign would (propose, approve, merge, react to the
// pull requests) and checks that every step ended the way it predicted.
//
// The story only acts as people do — through githubfake's people API,
// which sends the webhooks GitHub would — and observes GitHub's state
// and the app's database; campaignbot itself runs unmodified.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/demo"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/fixtures/specs"
	"github.com/campaignbot/campaignbot/store"
)

// Options configure a sandbox.
type Options struct {
	// Repos is the number of demo repositories (default 25).
	Repos int
	// Spec is the spec the story proposes (default fixtures/specs.Sandbox);
	// SpecName is where it came from, for messages.
	Spec     []byte
	SpecName string
	// Keep leaves everything running after the story until ctx ends, and
	// mints a write-scope API token for `campaignbot ctl`.
	Keep bool
	// DatabaseURL and RedisURL name the servers (DATABASE_URL, REDIS_URL);
	// the sandbox makes its own database Database on the first and leases
	// a database number on the second.
	DatabaseURL string
	RedisURL    string
	Database    string
	// Addr is where the app listens (default 127.0.0.1:0; 127.0.0.1:8080
	// with Keep, and then the queue view on 127.0.0.1:8081).
	Addr string
	// Out receives the story; Live redraws the progress bar in place
	// (default: when Out is a terminal).
	Out  io.Writer
	Live *bool
	// Timeout bounds each wait of the story (default 2 minutes).
	Timeout time.Duration
}

// ErrMismatch: the story did not end the way it predicted.
var ErrMismatch = errors.New("the story did not end as predicted")

// ErrInvalidSpec: the spec to propose is not a valid campaign spec; the
// story does not start (its diagnostics are printed, as ctl validate
// prints them).
var ErrInvalidSpec = errors.New("not a valid campaign spec")

// webhookSecret signs the fake's deliveries to the app.
const webhookSecret = "sandbox-webhook-secret"

// keepAddr is where a kept sandbox's app listens unless Addr says
// otherwise (its queue view next to it, on keepExtrasAddr).
const (
	keepAddr       = "127.0.0.1:8080"
	keepExtrasAddr = "127.0.0.1:8081"
)

// Sandbox is a running world: githubfake, the database, the app.
type Sandbox struct {
	opts     Options
	n        *narrator
	dir      string
	logPath  string
	db       *database
	redis    *redisDB
	fake     *githubfake.Fake
	world    *demo.World
	refusals *demo.Refusals
	store    *store.Store
	cfg      config.Config
	appURL   string
	extraURL string

	stop    context.CancelFunc
	wg      sync.WaitGroup
	errMu   sync.Mutex
	runErrs []error
}

// Run plays the story and returns nil when it ended as predicted,
// ErrMismatch (wrapped, with the differences) when not, or the error
// that stopped it.
func Run(ctx context.Context, o Options) error {
	start := time.Now()
	if o.Repos == 0 {
		o.Repos = 25
	}
	if o.Spec == nil {
		o.Spec, o.SpecName = specs.Sandbox, "fixtures/specs/good/sandbox-bump-go.yaml"
	}
	if o.Database == "" {
		o.Database = "campaignbot_sandbox"
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	live := isTerminal(o.Out)
	if o.Live != nil {
		live = *o.Live
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
		if o.Keep {
			o.Addr = keepAddr
		}
	}
	s := &Sandbox{opts: o, n: newNarrator(o.Out, live)}
	// Checked before anything starts: a typo in --spec costs no world.
	sp, err := checkSpec(s.n, o.SpecName, o.Spec)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.start(ctx); err != nil {
		return err
	}
	st := newStory(s, sp)
	err = st.play(ctx)
	st.figures(time.Since(start))
	if err == nil {
		err = st.verdict()
	}
	if err != nil {
		s.n.Plain("\nlogs of the app: %s", s.logPath)
	}
	if o.Keep && ctx.Err() == nil {
		token, terr := s.apiToken(ctx)
		if terr != nil {
			return errors.Join(err, terr)
		}
		s.printURLs(token, st.name)
		s.n.Plain("\nEverything keeps running; press Ctrl-C to stop.")
		<-ctx.Done()
	}
	return err
}

// checkSpec parses the spec the story will propose and prints its
// problems, one file:line:col: message each.
func checkSpec(n *narrator, name string, data []byte) (*spec.Spec, error) {
	sp, diags := spec.Parse(name, data)
	if sp != nil && !diags.HasErrors() {
		return sp, nil
	}
	errs := diags.Errors()
	n.Plain("%s is not a valid campaign spec (docs/api/spec.md):", name)
	for _, d := range errs.Strings() {
		n.Say("%s", d)
	}
	first := ""
	if len(errs) > 0 {
		first = ", the first: " + errs.Strings()[0]
	}
	return nil, fmt.Errorf("%w: %s has %d problems%s", ErrInvalidSpec, name, len(errs), first)
}

func (s *Sandbox) start(ctx context.Context) error {
	o := s.opts
	s.n.Plain("campaignbot sandbox — the life of a campaign against a fake GitHub (%d repositories)\n", o.Repos)
	dir, err := os.MkdirTemp("", "campaignbot-sandbox-")
	if err != nil {
		return fmt.Errorf("sandbox: temporary directory: %w", err)
	}
	s.dir = dir
	// The local executor runs steps as an unprivileged user when started
	// as root; that user must reach the work directory inside.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("sandbox: temporary directory: %w", err)
	}

	if s.db, err = openDatabase(ctx, o.DatabaseURL, sanitizeName(o.Database)); err != nil {
		return err
	}
	if s.redis, err = leaseRedis(ctx, o.RedisURL); err != nil {
		return err
	}
	s.n.Plain("  ✓ PostgreSQL: database %s (created and migrated)   Redis: database %d", s.db.Name, s.redis.DB)

	s.refusals = &demo.Refusals{}
	if s.fake, err = githubfake.New(ctx, githubfake.WithDir(filepath.Join(dir, "github")),
		githubfake.WithMiddleware(s.refusals.Middleware)); err != nil {
		return fmt.Errorf("start githubfake: %w", err)
	}
	if s.world, err = demo.Seed(ctx, s.fake, o.Repos); err != nil {
		return err
	}
	s.n.Plain("  ✓ githubfake %s: organisation %s, %d repositories and the control repository %s, App installed (installation %d)",
		s.fake.URL(), demo.Org, len(s.world.Projects), s.world.Control(), s.world.InstallationID)

	cfg := config.Default()
	cfg.DatabaseURL = s.db.URL
	cfg.RedisURL = s.redis.URL
	cfg.GitHub.V3APIURL = s.fake.V3URL()
	cfg.GitHub.V4APIURL = s.fake.V4URL()
	cfg.GitHub.App.IntegrationID = s.fake.AppID()
	cfg.GitHub.App.PrivateKey = string(s.fake.PrivateKeyPEM())
	cfg.GitHub.App.WebhookSecret = webhookSecret
	cfg.Campaign.ControlRepo = s.world.Control()
	cfg.Campaign.HTTPAddr = o.Addr
	// A livelier dashboard than production's 5 s; still coalesced.
	cfg.Campaign.DashboardEvery = time.Second
	cfg.Campaign.ShutdownTimeout = 2 * time.Second
	cfg.Worker.Concurrency = 8
	cfg.Worker.ShutdownTimeout = 2 * time.Second
	cfg.Worker.SweepInterval = 5 * time.Second
	// A base move is acted on after the base has been quiet this long
	// (production: 2 minutes); the story shows a rebase within seconds.
	cfg.Reconcile.DriftDebounce = 2 * time.Second
	cfg.Runner.Executor = "local"
	cfg.Runner.GitURL = s.fake.GitURL()
	cfg.Runner.ArtifactDir = filepath.Join(dir, "artifacts")
	cfg.Runner.WorkDir = filepath.Join(dir, "work")
	// Leave a quarter of GitHub's content-creation budget (80 a minute)
	// to plan checks, dashboards and replies, as an operator should.
	cfg.Publisher.ContentPerMinute = 60
	cfg.Log.Format, cfg.Log.Level = "json", "info"
	if err := os.MkdirAll(cfg.Runner.WorkDir, 0o755); err != nil {
		return fmt.Errorf("sandbox: work directory: %w", err)
	}
	for _, role := range []config.Role{config.RoleServer, config.RoleWorker} {
		if err := cfg.Validate(role); err != nil {
			return fmt.Errorf("sandbox configuration: %w", err)
		}
	}
	s.cfg = cfg

	s.logPath = filepath.Join(dir, "campaignbot.log")
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return fmt.Errorf("sandbox: log file: %w", err)
	}
	logger, err := app.NewLogger(logFile, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return err
	}
	if s.store, err = store.Open(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w", o.Addr, err)
	}
	s.appURL = "http://" + ln.Addr().String()
	srv, err := app.NewServer(ctx, cfg, logger.With().Str("role", "server").Logger())
	if err != nil {
		ln.Close()
		return err
	}
	w, err := app.NewWorker(ctx, cfg, logger.With().Str("role", "worker").Logger())
	if err != nil {
		srv.Close()
		ln.Close()
		return err
	}
	runCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		defer srv.Close()
		if err := srv.Run(runCtx, ln); err != nil {
			s.fail(fmt.Errorf("server: %w", err))
		}
	}()
	go func() {
		defer s.wg.Done()
		defer w.Close()
		if err := w.Run(runCtx); err != nil {
			s.fail(fmt.Errorf("worker: %w", err))
		}
	}()
	s.fake.SetWebhook(s.appURL+"/api/github/hook", webhookSecret)
	if err := s.serveExtras(runCtx); err != nil {
		return err
	}
	s.n.Plain("  ✓ campaignbot %s: server and worker in this process, local executor, logs in %s", s.appURL, s.logPath)
	_ = logFile // closed with the process; the server and worker log into it until the end
	return nil
}

func (s *Sandbox) fail(err error) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	s.runErrs = append(s.runErrs, err)
}

// failure is the first error of the server or the worker, if any.
func (s *Sandbox) failure() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return errors.Join(s.runErrs...)
}

func (s *Sandbox) close() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	if s.store != nil {
		s.store.Close()
	}
	if s.fake != nil {
		s.fake.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.db != nil {
		_ = s.db.Drop(ctx)
		s.db.Close()
	}
	if s.redis != nil {
		s.redis.Release()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// settle waits until the fake has delivered every webhook and the worker
// has processed every stored delivery.
func (s *Sandbox) settle(ctx context.Context) error {
	deadline := time.Now().Add(s.opts.Timeout)
	for {
		if err := s.fake.FlushWebhooks(ctx); err != nil {
			return fmt.Errorf("deliver webhooks: %w", err)
		}
		open := 0
		for _, state := range []string{store.DeliveryPending, store.DeliveryProcessing, store.DeliveryFailed} {
			n, err := s.store.CountDeliveries(ctx, state)
			if err != nil {
				return err
			}
			open += n
		}
		if open == 0 {
			return nil
		}
		if err := s.failure(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d webhook deliveries still unprocessed after %s", open, s.opts.Timeout)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
