package local_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/local"
	"github.com/campaignbot/campaignbot/runner/workspace/workspacetest"
)

// mode is one way of running steps: every behaviour is tested in both.
type mode struct {
	name string
	opts []local.Option
}

// modes returns the sandboxed mode (skipped, loudly, where bwrap is not
// installed; CI installs it) and the plain one.
func modes(t *testing.T) []mode {
	t.Helper()
	return []mode{{"bwrap", []local.Option{local.RequireSandbox()}}, {"plain", []local.Option{local.DisableSandbox()}}}
}

// newExecutor builds an Executor for m, skipping when bwrap is absent.
func newExecutor(t *testing.T, fg *workspacetest.Forge, m mode, extra ...local.Option) *local.Executor {
	t.Helper()
	if m.name == "bwrap" {
		if _, err := exec.LookPath("bwrap"); err != nil {
			t.Skip("bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap to run the sandboxed tests")
		}
	}
	e := local.New(fg, append(append([]local.Option(nil), m.opts...), extra...)...)
	if err := e.Err(); err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Logf("isolation: %s", e.Isolation())
	return e
}

var repoSeq atomic.Int64

// request creates a repository with files and a request running steps on it.
func request(t *testing.T, fg *workspacetest.Forge, files []workspacetest.File, steps ...runner.Step) runner.Request {
	t.Helper()
	name := fmt.Sprintf("task-%04d", repoSeq.Add(1))
	url, sha := fg.Repo(t, name, files...)
	return runner.Request{TaskID: "task-" + name, InstallationID: fg.InstallationID, Repository: workspacetest.Org + "/" + name,
		CloneURL: url, BaseBranch: "main", BaseSHA: sha, Steps: steps}
}

var defaultFiles = []workspacetest.File{
	{Path: "go.mod", Content: "module svc\n\ngo 1.22\n"},
	{Path: "run.sh", Content: "#!/bin/sh\necho hi\n"},
	{Path: "README.md", Content: "# svc\n"},
}

// processesWith reports running processes whose command line contains s.
func processesWith(s string) []string {
	var hits []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/cmdline")
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), s) {
			hits = append(hits, filepath.Base(d))
		}
	}
	return hits
}

func execute(t *testing.T, e *local.Executor, req runner.Request) (*runner.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return e.Execute(ctx, req)
}
