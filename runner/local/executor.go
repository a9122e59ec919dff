package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/workspace"
)

// Executor runs tasks as local processes. It holds no state between
// tasks: every Execute gets a new workspace, token, HOME and sandbox.
type Executor struct {
	tokens    runner.TokenSource
	cfg       config
	bwrap     string // "" when steps run without a sandbox
	prlimit   string // "" when no pids limit can be applied
	cred      *credential
	isolation string
	err       error // a configuration error every Execute returns
}

var _ runner.Executor = (*Executor)(nil)

// New returns an Executor minting checkout tokens from tokens. It looks
// for a working bubblewrap once, here (see RequireSandbox and
// DisableSandbox); Isolation says what was found and Err whether the
// Executor can run at all.
func New(tokens runner.TokenSource, opts ...Option) *Executor {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	e := &Executor{tokens: tokens, cfg: cfg, cred: newCredential(cfg.uid, cfg.gid)}
	if tokens == nil {
		e.err = errors.New("local executor: no token source")
	}
	if err := e.cred.canReach(cfg.tempDir); err != nil && e.err == nil {
		e.err = fmt.Errorf("local executor: %w", err)
	}
	if cfg.maxProcs > 0 {
		if p, err := exec.LookPath("prlimit"); err == nil {
			e.prlimit = p
		}
	}
	why := ""
	if cfg.sandbox != sandboxDisabled {
		path := cfg.bwrapPath
		var err error
		if path == "" {
			path, err = exec.LookPath("bwrap")
		}
		if err == nil {
			err = probeBwrap(path, cfg.tempDir, e.cred)
		}
		if err == nil {
			e.bwrap = path
		} else {
			why = err.Error()
			if cfg.sandbox == sandboxRequired && e.err == nil {
				e.err = fmt.Errorf("local executor: bubblewrap is required but not usable: %w", err)
			}
		}
	} else {
		why = "disabled by configuration"
	}
	e.isolation = e.describe(why)
	return e
}

// Isolation describes the isolation in force, for the worker to log at
// start.
func (e *Executor) Isolation() string { return e.isolation }

// Err reports a configuration that cannot run tasks (sandbox required
// but unusable, no token source); Execute then fails with it.
func (e *Executor) Err() error { return e.err }

func (e *Executor) describe(whyNot string) string {
	limit := "no pids limit (prlimit not found)"
	switch {
	case e.cfg.maxProcs <= 0:
		limit = "no pids limit (disabled)"
	case e.prlimit != "" && e.bwrap == "" && e.cred == nil:
		limit = fmt.Sprintf("at most %d processes for the worker's whole uid", e.cfg.maxProcs)
	case e.prlimit != "":
		limit = fmt.Sprintf("at most %d processes", e.cfg.maxProcs)
	}
	if e.bwrap != "" {
		return fmt.Sprintf("bubblewrap (%s): read-only system, private /tmp, no network unless a step sets network, "+
			"new namespaces, no capabilities, %s, steps run as %s", bwrapVersion(e.bwrap), limit, e.cred)
	}
	return fmt.Sprintf("none (%s): plain processes with a scrubbed environment, process-group timeouts, %s, steps run as %s; "+
		"the file system and the network are NOT isolated", whyNot, limit, e.cred)
}

// Execute checks req.Repository out at req.BaseSHA, runs the steps and
// collects the change. On a failed step the error is a *runner.StepError
// and the returned Result (not nil) carries the logs so far.
func (e *Executor) Execute(ctx context.Context, req runner.Request) (*runner.Result, error) {
	if e.err != nil {
		return nil, e.err
	}
	if req.Repository == "" || req.CloneURL == "" {
		return nil, fmt.Errorf("execute task %s: request without repository or clone URL", req.TaskID)
	}
	limits := workspace.EffectiveLimits(req.Limits)
	root, err := os.MkdirTemp(e.cfg.tempDir, "campaignbot-task-")
	if err != nil {
		return nil, fmt.Errorf("execute %s: create workspace: %w", req.Repository, err)
	}
	defer removeAll(root)
	src := filepath.Join(root, "src")
	if err := e.checkout(ctx, req, src); err != nil {
		return nil, err
	}
	if err := e.cred.chown(root); err != nil {
		return nil, fmt.Errorf("execute %s: %w", req.Repository, err)
	}
	var logs []runner.StepLog
	for i, st := range req.Steps {
		if st.Name == "" {
			st.Name = fmt.Sprintf("step %d", i+1)
		}
		log, err := e.runStep(ctx, root, src, st, limits.MaxLogBytes)
		logs = append(logs, log)
		if err != nil {
			return &runner.Result{Logs: logs, BaseSHA: req.BaseSHA}, err
		}
	}
	res, err := workspace.Collect(ctx, src, req.BaseSHA, req.Allow, limits)
	if err != nil {
		return &runner.Result{Logs: logs, BaseSHA: req.BaseSHA}, err
	}
	res.Logs = logs
	return res, nil
}

// checkout mints the one-repository read token and clones. The token
// lives in this frame only.
func (e *Executor) checkout(ctx context.Context, req runner.Request, src string) error {
	token, err := e.tokens.RepoReadToken(ctx, req.InstallationID, req.Repository)
	if err != nil {
		return &runner.CloneError{Repository: req.Repository, Err: fmt.Errorf("mint a read token: %w", err)}
	}
	return workspace.Clone(ctx, src, req.CloneURL, req.BaseSHA, token)
}

// removeAll deletes a task directory even where a step removed write
// permission from its own directories.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}
