package workspace_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/workspace"
	"github.com/campaignbot/campaignbot/runner/workspace/workspacetest"
)

// A forge that never answers, or answers 502: the clone ends with a
// CloneError when the task's context says so, not when TCP gives up.
func TestCloneServerFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault githubfake.Fault
		want  error
	}{
		{"hangs", githubfake.Fault{Route: "git", Timeout: true}, context.DeadlineExceeded},
		{"bad gateway", githubfake.Fault{Route: "git", Status: 502}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fg := workspacetest.New(t)
			url, sha := fg.Repo(t, "svc", workspacetest.File{Path: "a", Content: "a\n"})
			tok := readToken(t, fg, "svc")
			remove := fg.Fake.InjectFault(tt.fault)
			defer remove()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			err := workspace.Clone(ctx, filepath.Join(t.TempDir(), "ws"), url, sha, tok)
			var ce *runner.CloneError
			if !errors.As(err, &ce) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Clone = %v, want a CloneError (%v)", err, tt.want)
			}
			if took := time.Since(start); took > 8*time.Second {
				t.Errorf("Clone took %v with a 1s deadline", took)
			}
		})
	}
}
