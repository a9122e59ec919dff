package workspace_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/workspace"
	"github.com/campaignbot/campaignbot/runner/workspace/workspacetest"
)

func readToken(t *testing.T, fg *workspacetest.Forge, repo string) string {
	t.Helper()
	tok, err := fg.RepoReadToken(context.Background(), fg.InstallationID, workspacetest.Org+"/"+repo)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "safe.directory=*"}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=/nonexistent"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestCloneChecksOutBaseWithoutLeakingToken(t *testing.T) {
	fg := workspacetest.New(t)
	url, sha := fg.Repo(t, "svc", workspacetest.File{Path: "go.mod", Content: "module svc\n"},
		workspacetest.File{Path: "run.sh", Content: "#!/bin/sh\n", Mode: "100755"},
		workspacetest.File{Path: "link", Content: "go.mod", Mode: "120000"})
	tok := readToken(t, fg, "svc")
	dir := filepath.Join(t.TempDir(), "ws")
	var co workspace.Checkout
	if err := workspace.Clone(context.Background(), dir, url, sha, tok, workspace.Into(&co)); err != nil {
		t.Fatalf("Clone: %v", err)
	}
	if got := gitOut(t, dir, "rev-parse", "HEAD"); got != sha {
		t.Errorf("HEAD = %s, want %s", got, sha)
	}
	if got := gitOut(t, dir, "rev-parse", "--is-shallow-repository"); got != "true" {
		t.Errorf("checkout is not shallow")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(b) != "module svc\n" {
		t.Errorf("go.mod = %q", b)
	}
	if fi, err := os.Stat(filepath.Join(dir, "run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh lost its executable bit: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "link")); err != nil || target != "go.mod" {
		t.Errorf("link = %q, %v; want a symlink to go.mod", target, err)
	}
	if hits := workspacetest.GrepTree(t, dir, tok); len(hits) > 0 {
		t.Errorf("token written to %v", hits)
	}
	if hooks, _ := os.ReadDir(filepath.Join(dir, ".git", "hooks")); len(hooks) > 0 {
		t.Errorf("hooks directory is not empty: %v", hooks)
	}
	if co.BaseSHA != sha || len(co.Submodules) != 0 || co.LFS {
		t.Errorf("Checkout = %+v", co)
	}
}

func TestCloneFailures(t *testing.T) {
	fg := workspacetest.New(t)
	url, sha := fg.Repo(t, "svc", workspacetest.File{Path: "a", Content: "a\n"})
	emptyURL, _ := fg.Repo(t, "empty")
	otherURL, _ := fg.Repo(t, "other", workspacetest.File{Path: "b", Content: "b\n"})
	_ = otherURL
	good := readToken(t, fg, "svc")
	otherTok := fg.Token(t, []string{"other"}, map[string]string{"contents": "read"})
	noContents := fg.Token(t, []string{"svc"}, map[string]string{"metadata": "read"})
	unknown := strings.Repeat("ab", 20)
	tests := []struct {
		name, url, sha, token string
		want                  error
	}{
		{"unknown commit", url, unknown, good, workspace.ErrUnknownCommit},
		{"empty repository", emptyURL, unknown, fg.Token(t, []string{"empty"}, map[string]string{"contents": "read"}), workspace.ErrEmptyRepository},
		{"empty repository without base", emptyURL, "", good, workspace.ErrEmptyRepository},
		{"token for another repository", url, sha, otherTok, workspace.ErrNotFound},
		{"token without contents", url, sha, noContents, workspace.ErrNotFound},
		{"invalid token", url, sha, "ghs_" + strings.Repeat("0", 36), workspace.ErrAuth},
		{"no token on a private repository", url, sha, "", workspace.ErrAuth},
		{"missing repository", fg.Fake.CloneURL(workspacetest.Org, "nope"), sha, good, workspace.ErrNotFound},
		{"abbreviated sha", url, sha[:12], good, nil},
		{"credentials in URL", strings.Replace(url, "://", "://u:p@", 1), sha, good, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := workspace.Clone(context.Background(), filepath.Join(t.TempDir(), "ws"), tt.url, tt.sha, tt.token)
			var ce *runner.CloneError
			if !errors.As(err, &ce) {
				t.Fatalf("Clone = %v, want a *runner.CloneError", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Clone = %v, want %v", err, tt.want)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error contains the token: %v", err)
			}
			if ce.Repository == "" || strings.Contains(ce.Repository, ":") {
				t.Errorf("CloneError.Repository = %q", ce.Repository)
			}
			t.Logf("%v", err)
		})
	}
}

func TestCloneRecordsSubmodulesAndLFS(t *testing.T) {
	fg := workspacetest.New(t)
	pointer := "version https://git-lfs.github.com/spec/v1\noid sha256:" + strings.Repeat("a", 64) + "\nsize 12345\n"
	url, sha := fg.Repo(t, "mono",
		workspacetest.File{Path: ".gitmodules", Content: "[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.com/lib.git\n"},
		workspacetest.File{Path: "lib", Content: strings.Repeat("cd", 20), Mode: "160000"},
		workspacetest.File{Path: ".gitattributes", Content: "*.bin filter=lfs diff=lfs merge=lfs -text\n"},
		workspacetest.File{Path: "data.bin", Content: pointer})
	dir := filepath.Join(t.TempDir(), "ws")
	var co workspace.Checkout
	if err := workspace.Clone(context.Background(), dir, url, sha, readToken(t, fg, "mono"), workspace.Into(&co)); err != nil {
		t.Fatalf("Clone: %v", err)
	}
	if len(co.Submodules) != 1 || co.Submodules[0] != "lib" || !co.LFS {
		t.Errorf("Checkout = %+v, want submodule lib and LFS", co)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "lib")); err != nil || len(entries) != 0 {
		t.Errorf("submodule directory = %v, %v; want empty (never fetched)", entries, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "data.bin")); string(b) != pointer {
		t.Errorf("LFS file is not left as its pointer: %q", b)
	}
}
