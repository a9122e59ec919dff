package workspace

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hardening is passed with -c to every git command: git must not run
// anything the repository or the steps could have configured, nor read
// files outside the workspace on their behalf.
var hardening = []string{
	"core.hooksPath=/dev/null",
	"core.fsmonitor=false",
	"core.symlinks=true",
	"core.autocrlf=false",
	"core.excludesFile=/dev/null",
	"core.attributesFile=/dev/null",
	"core.askPass=",
	"credential.helper=",
	"protocol.file.allow=never",
	"protocol.ext.allow=never",
	"safe.directory=*",
	"gc.auto=0",
	"maintenance.auto=false",
	"advice.detachedHead=false",
	"fetch.recurseSubmodules=false",
	"submodule.recurse=false",
	"diff.external=",
	// A stalled server aborts the fetch even when the caller set no deadline.
	"http.lowSpeedLimit=1000",
	"http.lowSpeedTime=60",
	"filter.lfs.required=false",
	"filter.lfs.smudge=",
	"filter.lfs.process=",
	"filter.lfs.clean=",
}

// passEnv are the worker's variables git may see: how to find programs
// and proxies and CA certificates an enterprise network may need.
var passEnv = []string{
	"PATH", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO",
}

// git runs git commands in one workspace.
type git struct {
	bin     string
	dir     string   // work tree
	env     []string // the base environment, see gitEnv
	secrets []string // scrubbed from stderr
}

// gitEnv is the complete environment of a git process: nothing else of
// the worker's leaks in (GIT_DIR, GIT_TRACE, a user's HOME config...).
func gitEnv(dir string) []string {
	env := []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"GIT_LFS_SKIP_SMUDGE=1",
		// HOME points at nothing readable so no ~/.config/git leaks in.
		"HOME=/nonexistent",
		"XDG_CONFIG_HOME=/nonexistent",
		// English messages: errors are classified by their text.
		"LANG=C", "LC_ALL=C",
		"GIT_DIR=" + dir + "/.git",
		"GIT_WORK_TREE=" + dir,
		"GIT_CEILING_DIRECTORIES=" + dir,
	}
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// gitError is a failed git command; its text is already scrubbed.
type gitError struct {
	args   string
	code   int
	stderr string
	err    error
}

// Unwrap exposes the process error (and the context's, when it ended
// the command); neither holds a secret.
func (e *gitError) Unwrap() error { return e.err }

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		msg = e.err.Error()
	}
	return fmt.Sprintf("git %s: %s", e.args, msg)
}

// run executes git args with extra environment, writing stdout to out
// (nil discards it) and returning a scrubbed *gitError on failure.
func (g *git) run(ctx context.Context, extraEnv []string, stdin io.Reader, out io.Writer, args ...string) error {
	full := make([]string, 0, 2*len(hardening)+len(args))
	for _, h := range hardening {
		full = append(full, "-c", h)
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, g.bin, full...)
	cmd.Dir = g.dir
	cmd.Env = append(append([]string(nil), g.env...), extraEnv...)
	cmd.Stdin = stdin
	cmd.Stdout = out
	// On cancellation kill git's helpers too (git-remote-http holds our
	// pipes), and never wait for them for long.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
	if err := cmd.Run(); err != nil {
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return &gitError{args: scrub(strings.Join(args, " "), g.secrets), code: code,
			stderr: scrub(stderr.String(), g.secrets), err: err}
	}
	return nil
}

// output runs git and returns its stdout.
func (g *git) output(ctx context.Context, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := g.run(ctx, nil, nil, &out, args...)
	return out.Bytes(), err
}

// configEnv passes config through the environment of one process
// (git >= 2.31): unlike -c it is not visible in /proc/PID/cmdline to
// other users of the machine.
func configEnv(kv ...[2]string) []string {
	env := []string{"GIT_CONFIG_COUNT=" + strconv.Itoa(len(kv))}
	for i, p := range kv {
		env = append(env, "GIT_CONFIG_KEY_"+strconv.Itoa(i)+"="+p[0], "GIT_CONFIG_VALUE_"+strconv.Itoa(i)+"="+p[1])
	}
	return env
}

// limitedWriter keeps the first n bytes (git's stderr is small; a
// pathological one must not grow without bound).
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(l.n, len(p))
		l.n -= k
		_, _ = l.w.Write(p[:k])
	}
	return len(p), nil
}
