package local

import "time"

// Option configures an Executor.
type Option func(*config)

type config struct {
	sandbox        sandboxMode
	tempDir        string
	maxProcs       int
	defaultTimeout time.Duration
	uid, gid       int
	bwrapPath      string
}

type sandboxMode int

const (
	sandboxAuto     sandboxMode = iota // bubblewrap when it works, else none
	sandboxRequired                    // bubblewrap or every task fails
	sandboxDisabled                    // plain processes
)

func defaultConfig() config {
	return config{maxProcs: 512, defaultTimeout: 30 * time.Minute, uid: 65534, gid: 65534}
}

// RequireSandbox makes bubblewrap mandatory: without a working bwrap,
// Err reports why and every Execute fails (production workers should set
// this).
func RequireSandbox() Option { return func(c *config) { c.sandbox = sandboxRequired } }

// DisableSandbox runs steps as plain processes even if bwrap is
// installed.
func DisableSandbox() Option { return func(c *config) { c.sandbox = sandboxDisabled } }

// WithBwrap uses this bubblewrap binary instead of bwrap on PATH.
func WithBwrap(path string) Option { return func(c *config) { c.bwrapPath = path } }

// WithTempDir puts task workspaces under dir (default os.TempDir()).
func WithTempDir(dir string) Option { return func(c *config) { c.tempDir = dir } }

// WithMaxProcs sets the per-step process limit (RLIMIT_NPROC through
// prlimit; default 512; 0 disables it).
func WithMaxProcs(n int) Option { return func(c *config) { c.maxProcs = n } }

// WithDefaultStepTimeout bounds steps that set no timeout (default 30m).
func WithDefaultStepTimeout(d time.Duration) Option {
	return func(c *config) { c.defaultTimeout = d }
}

// WithStepUser sets the uid and gid steps run as when the worker runs as
// root (default 65534, nobody). A non-root worker runs steps as itself.
func WithStepUser(uid, gid int) Option { return func(c *config) { c.uid, c.gid = uid, gid } }
