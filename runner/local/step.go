package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/workspace"
)

// waitDelay bounds how long the output is drained after the step's
// process group was killed.
const waitDelay = 2 * time.Second

// runStep runs one step and returns its log; a non-zero exit or a
// timeout is a *runner.StepError, a cancelled ctx is ctx's error.
func (e *Executor) runStep(ctx context.Context, root, src string, st runner.Step, maxLog int64) (runner.StepLog, error) {
	log := runner.StepLog{Name: st.Name}
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = e.cfg.defaultTimeout
	}
	stepCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	home, tmp := sandboxHome, "/tmp"
	if e.bwrap == "" {
		home, tmp = filepath.Join(root, "home"), filepath.Join(root, "tmp")
		for _, d := range []string{home, tmp} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return log, fmt.Errorf("step %q: %w", st.Name, err)
			}
			if err := e.cred.chown(d); err != nil {
				return log, fmt.Errorf("step %q: %w", st.Name, err)
			}
		}
	}
	env, err := stepEnv(st.Env, home, tmp)
	if err != nil {
		return log, &runner.StepError{Step: st.Name, ExitCode: -1, LogTail: err.Error()}
	}
	argv := []string{"sh", "-ec", st.Run}
	if e.prlimit != "" && e.cfg.maxProcs > 0 {
		argv = append([]string{e.prlimit, "--nproc=" + strconv.Itoa(e.cfg.maxProcs), "--"}, argv...)
	}
	var cmd *exec.Cmd
	if e.bwrap != "" {
		cmd = exec.Command(e.bwrap, bwrapArgs(src, st.Network, argv)...)
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
		cmd.Dir = src
	}
	cmd.Env = env
	// The output pipe is ours, not os/exec's: Wait then returns when the
	// shell exits, and the group is killed before we wait for the pipe,
	// so a background process holding it cannot stall the task.
	out := workspace.NewTailBuffer(maxLog)
	pr, pw, err := os.Pipe()
	if err != nil {
		return log, fmt.Errorf("step %q: %w", st.Name, err)
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = e.cred.sysProcAttr()

	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return log, fmt.Errorf("step %q: start: %w", st.Name, err)
	}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, pr)
		close(copied)
	}()
	pgid := cmd.Process.Pid
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	var runErr error
	killed := false // by us: a step that ends as its deadline passes did not time out
	select {
	case runErr = <-waitErr:
	case <-stepCtx.Done():
		killed = true
		killGroup(pgid)
		runErr = <-waitErr
	}
	// Whatever the outcome, nothing the step started may outlive it.
	killGroup(pgid)
	awaitGroupGone(pgid, waitDelay)
	select {
	case <-copied:
	case <-time.After(waitDelay):
		// A process outside the group (it called setsid) still holds the
		// pipe: stop reading.
		pr.Close()
		<-copied
	}
	log.Duration = time.Since(start)
	log.Output, log.Truncated = out.String(), out.Truncated()
	log.ExitCode = cmd.ProcessState.ExitCode()

	switch {
	case killed && ctx.Err() != nil:
		return log, fmt.Errorf("step %q: %w", st.Name, ctx.Err())
	case killed:
		log.ExitCode = -1
		return log, &runner.StepError{Step: st.Name, ExitCode: -1, TimedOut: true, LogTail: log.Output}
	case runErr != nil:
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			return log, fmt.Errorf("step %q: %w", st.Name, runErr)
		}
		return log, &runner.StepError{Step: st.Name, ExitCode: log.ExitCode, LogTail: log.Output}
	}
	return log, nil
}

// killGroup kills the step's process group. Without a sandbox, a process
// that called setsid escapes it (see docs/runner-local.md); in bwrap the
// pid namespace dies with the sandbox's init.
func killGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// awaitGroupGone waits (briefly) until no process of the group is left,
// so the next step's pids limit does not count the dying ones.
func awaitGroupGone(pgid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && syscall.Kill(-pgid, 0) == nil {
		time.Sleep(5 * time.Millisecond)
	}
}
