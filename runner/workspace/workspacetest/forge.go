// Package workspacetest gives executor tests a forge: githubfake with an
// organisation whose App installation can mint scoped tokens, and a way
// to create repositories with any git content (symlinks, executable
// bits, submodules, LFS pointers), which githubfake's seeding cannot.
// It is imported by tests only.
package workspacetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/campaignbot/campaignbot/fixtures/githubfake"
)

// Org is the organisation every repository of a Forge belongs to.
const Org = "acme"

// Forge is a fake GitHub for one test.
type Forge struct {
	Fake           *githubfake.Fake
	InstallationID int64

	mu     sync.Mutex
	mint   []MintCall
	tokens []string
}

// MintCall records the arguments of one token request.
type MintCall struct {
	InstallationID int64
	Repos          []string
	Perms          map[string]string
}

// New starts a fake GitHub with an organisation and the App installed.
func New(t testing.TB) *Forge {
	t.Helper()
	f := githubfake.NewT(t)
	org, err := f.CreateOrg(context.Background(), githubfake.OrgSpec{Name: Org, Repos: 1})
	if err != nil {
		t.Fatalf("create org: %v", err)
	}
	return &Forge{Fake: f, InstallationID: org.InstallationID}
}

// File is one entry of a commit.
type File struct {
	Path    string
	Content string
	// Mode: "" or "100644", "100755", "120000" (Content is the target),
	// or "160000" (Content is the commit id of the submodule).
	Mode string
}

// Repo creates repository name with a single commit of files (none: an
// empty repository) and returns its clone URL and head commit ("" when
// empty).
func (fg *Forge) Repo(t testing.TB, name string, files ...File) (cloneURL, sha string) {
	t.Helper()
	ctx := context.Background()
	if _, err := fg.Fake.CreateRepo(ctx, Org, githubfake.RepoSpec{Name: name, Files: map[string]string{}}); err != nil {
		t.Fatalf("create repo: %v", err)
	}
	cloneURL = fg.Fake.CloneURL(Org, name)
	if len(files) == 0 {
		return cloneURL, ""
	}
	dir := t.TempDir()
	run := func(stdin string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	run("", "init", "-q", "-b", "main")
	for _, f := range files {
		mode := f.Mode
		if mode == "" {
			mode = "100644"
		}
		var obj string
		if mode == "160000" {
			obj = f.Content
		} else {
			obj = run(f.Content, "hash-object", "-w", "--stdin")
		}
		run("", "update-index", "--add", "--cacheinfo", mode+","+obj+","+f.Path)
	}
	tree := run("", "write-tree")
	sha = run("", "commit-tree", tree, "-m", "initial")
	token := fg.Token(t, []string{name}, map[string]string{"contents": "write"})
	pushURL := strings.Replace(cloneURL, "://", "://x-access-token:"+token+"@", 1)
	run("", "push", "-q", pushURL, sha+":refs/heads/main")
	return cloneURL, sha
}

// Token mints a token directly (not recorded as a MintCall).
func (fg *Forge) Token(t testing.TB, repos []string, perms map[string]string) string {
	t.Helper()
	tok, err := fg.Fake.InstallationToken(fg.InstallationID, repos, perms)
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return tok
}

// RepoReadToken implements runner.TokenSource the way the App's token
// service must: a token for exactly the one repository with contents:
// read. Every call is recorded.
func (fg *Forge) RepoReadToken(ctx context.Context, installationID int64, repo string) (string, error) {
	if _, _, ok := strings.Cut(repo, "/"); !ok {
		return "", fmt.Errorf("repository %q is not owner/name", repo)
	}
	call := MintCall{InstallationID: installationID, Repos: []string{repo}, Perms: map[string]string{"contents": "read"}}
	tok, err := fg.Fake.InstallationToken(call.InstallationID, call.Repos, call.Perms)
	fg.mu.Lock()
	defer fg.mu.Unlock()
	fg.mint = append(fg.mint, call)
	if err == nil {
		fg.tokens = append(fg.tokens, tok)
	}
	return tok, err
}

// Minted returns the token values handed out by RepoReadToken, for tests
// asserting they appear nowhere.
func (fg *Forge) Minted() []string {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	return append([]string(nil), fg.tokens...)
}

// MintCalls returns the token requests made through RepoReadToken.
func (fg *Forge) MintCalls() []MintCall {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	return append([]MintCall(nil), fg.mint...)
}

// GrepTree reports files under dir whose content contains s.
func GrepTree(t testing.TB, dir, s string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return hits
}
