package workspace_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner/workspace"
	"github.com/campaignbot/campaignbot/runner/workspace/workspacetest"
)

// A server that refuses to send a commit by id (protocol v0 without
// uploadpack.allowAnySHA1InWant, as some forges do): Clone falls back to
// a full fetch and still checks out the base, which is no branch tip.
func TestCloneFallsBackToFullFetch(t *testing.T) {
	fg := workspacetest.New(t)
	url, base := fg.Repo(t, "svc", workspacetest.File{Path: "a", Content: "one\n"})
	ctx := context.Background()
	if _, err := fg.Fake.PushCommit(ctx, workspacetest.Org, "svc", "main", "githubfake", "two", map[string]string{"a": "two\n"}); err != nil {
		t.Fatal(err)
	}
	var dir string
	if err := fg.Fake.SetRepo(workspacetest.Org, "svc", func(r *githubfake.Repo) { dir = r.Dir }); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "--git-dir", dir, "config", "uploadpack.allowAnySHA1InWant", "false").CombinedOutput(); err != nil {
		t.Fatalf("configure the fake's repository: %v: %s", err, out)
	}
	// A git that speaks protocol v0, where the server's refusal applies.
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "git")
	script := "#!/bin/sh\nexec " + gitBin + " -c protocol.version=0 \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(t.TempDir(), "ws")
	if err := workspace.Clone(ctx, ws, url, base, readToken(t, fg, "svc"), workspace.WithGit(wrapper)); err != nil {
		t.Fatalf("Clone: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "a")); string(b) != "one\n" {
		t.Errorf("a = %q, want the base commit's content", b)
	}
	if got := gitOut(t, ws, "rev-parse", "HEAD"); got != base {
		t.Errorf("HEAD = %s, want %s", got, base)
	}
	// Only the fallback fetches branches: proof it was taken.
	if refs := gitOut(t, ws, "for-each-ref", "refs/remotes/origin"); refs == "" {
		t.Error("no branch was fetched: the shallow fetch was not refused, the test proves nothing")
	}
}
