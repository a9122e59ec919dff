package local_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/workspace"
	"github.com/campaignbot/campaignbot/runner/workspace/workspacetest"
)

func TestEmptyRepository(t *testing.T) {
	fg := workspacetest.New(t)
	e := newExecutor(t, fg, mode{"plain", nil})
	req := request(t, fg, nil, runner.Step{Name: "x", Run: "true"})
	_, err := execute(t, e, req)
	var ce *runner.CloneError
	if !errors.As(err, &ce) || !errors.Is(err, workspace.ErrEmptyRepository) || ce.Repository != req.Repository {
		t.Fatalf("Execute = %v, want a CloneError for an empty repository", err)
	}
}

// Cancelling the task (worker shutdown) is not a step failure: it must
// not be reported as one (StepError is permanent; this is retried).
func TestCancelledTaskIsNotAStepError(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			fg := workspacetest.New(t)
			e := newExecutor(t, fg, m)
			req := request(t, fg, defaultFiles, runner.Step{Name: "long", Run: "sleep 987654"})
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			_, err := e.Execute(ctx, req)
			if !errors.Is(err, context.DeadlineExceeded) || runner.Permanent(err) {
				t.Fatalf("Execute = %v, want the context's error, not permanent", err)
			}
			if p := processesWith("sleep 987654"); len(p) > 0 {
				t.Errorf("processes survived: %v", p)
			}
		})
	}
}

// In the sandbox a step reaches the network only when it asks to: the
// fake forge on 127.0.0.1 stands for any host.
func TestSandboxNetwork(t *testing.T) {
	fg := workspacetest.New(t)
	e := newExecutor(t, fg, modes(t)[0])
	probe := "git ls-remote " + fg.Fake.CloneURL(workspacetest.Org, "repo-0001") + " 2>&1 || true"
	for _, network := range []bool{false, true} {
		req := request(t, fg, defaultFiles, runner.Step{Name: "net", Run: probe, Network: network,
			Env: map[string]string{"GIT_TERMINAL_PROMPT": "0"}})
		res, err := execute(t, e, req)
		if err != nil {
			t.Fatalf("Execute: %v", err)
		}
		out := res.Logs[0].Output
		unreachable := strings.Contains(out, "Failed to connect") || strings.Contains(out, "Couldn't connect")
		if unreachable == network {
			t.Errorf("network=%v: the step's connection attempt said:\n%s", network, out)
		}
	}
}
