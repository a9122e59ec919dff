package workspace_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/workspace"
	"github.com/campaignbot/campaignbot/runner/workspace/workspacetest"
)

// checkout clones a fresh repository with files and returns its dir and base.
func checkout(t *testing.T, files ...workspacetest.File) (string, string) {
	t.Helper()
	fg := workspacetest.New(t)
	url, sha := fg.Repo(t, "svc", files...)
	dir := filepath.Join(t.TempDir(), "ws")
	if err := workspace.Clone(context.Background(), dir, url, sha, readToken(t, fg, "svc")); err != nil {
		t.Fatalf("Clone: %v", err)
	}
	return dir, sha
}

func write(t *testing.T, dir, rel, content string, perm os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

var base = []workspacetest.File{
	{Path: "go.mod", Content: "module svc\n\ngo 1.22\n"},
	{Path: "run.sh", Content: "#!/bin/sh\necho hi\n"},
	{Path: "old.txt", Content: "bye\n"},
	{Path: "tool", Content: "#!/bin/sh\n", Mode: "100755"},
	{Path: ".gitignore", Content: "build/\n"},
}

func TestCollectModesContentsAndDiff(t *testing.T) {
	dir, sha := checkout(t, base...)
	binary := []byte{0, 1, 2, 0xff, 0, 'x', '\n', 0}
	write(t, dir, "go.mod", "module svc\n\ngo 1.26\n", 0o644)
	write(t, dir, "run.sh", "#!/bin/sh\necho hi\n", 0o755) // only the executable bit
	write(t, dir, "tool", "#!/bin/sh\n", 0o644)            // bit removed
	write(t, dir, "img.bin", string(binary), 0o644)
	write(t, dir, "build/out.o", "ignored by the repository's .gitignore", 0o644)
	if err := os.Symlink("../etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "old.txt")); err != nil {
		t.Fatal(err)
	}
	res, err := workspace.Collect(context.Background(), dir, sha, nil, runner.Limits{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	want := []runner.FileChange{
		{Path: "go.mod", Mode: runner.ModeFile, OldMode: runner.ModeFile, Content: []byte("module svc\n\ngo 1.26\n")},
		{Path: "img.bin", Mode: runner.ModeFile, Content: binary},
		{Path: "link", Mode: runner.ModeSymlink, Content: []byte("../etc/passwd")},
		{Path: "run.sh", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: []byte("#!/bin/sh\necho hi\n")},
		{Path: "tool", Mode: runner.ModeFile, OldMode: runner.ModeExecutable, Content: []byte("#!/bin/sh\n")},
	}
	if !reflect.DeepEqual(res.Changed, want) {
		t.Errorf("Changed =\n%+v\nwant\n%+v", res.Changed, want)
	}
	if !reflect.DeepEqual(res.Deleted, []string{"old.txt"}) || res.NoChanges || res.BaseSHA != sha {
		t.Errorf("Deleted = %v, NoChanges = %v, BaseSHA = %s", res.Deleted, res.NoChanges, res.BaseSHA)
	}
	for _, s := range []string{"-go 1.22", "+go 1.26", "GIT binary patch", "old mode 100644\nnew mode 100755", "new file mode 120000", "deleted file mode 100644"} {
		if !strings.Contains(res.Diff, s) {
			t.Errorf("diff lacks %q:\n%s", s, res.Diff)
		}
	}
	if res.PatchHash != workspace.PatchHash(want, []string{"old.txt"}) {
		t.Error("PatchHash does not match the documented computation")
	}
}

// Attributes that transform content on add: the Result carries what git
// stores, not the work tree bytes.
func TestCollectContentIsWhatGitStores(t *testing.T) {
	dir, sha := checkout(t, append(append([]workspacetest.File(nil), base...),
		workspacetest.File{Path: ".gitattributes", Content: "*.txt text\n"})...)
	write(t, dir, "crlf.txt", "a\r\nb\r\n", 0o644)
	write(t, dir, "plain.md", "c\r\n", 0o644)
	res, err := workspace.Collect(context.Background(), dir, sha, nil, runner.Limits{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	got := map[string]string{}
	for _, c := range res.Changed {
		got[c.Path] = string(c.Content)
	}
	if want := map[string]string{"crlf.txt": "a\nb\n", "plain.md": "c\r\n"}; !reflect.DeepEqual(got, want) {
		t.Errorf("contents = %q, want %q", got, want)
	}
}

func TestCollectNoChanges(t *testing.T) {
	dir, sha := checkout(t, base...)
	write(t, dir, "build/x", "ignored", 0o644)
	res, err := workspace.Collect(context.Background(), dir, sha, []string{"go.mod"}, runner.Limits{})
	if err != nil || !res.NoChanges || len(res.Changed) != 0 || res.Diff != "" {
		t.Fatalf("Collect = %+v, %v; want NoChanges", res, err)
	}
}

func TestCollectRefusals(t *testing.T) {
	tests := []struct {
		name   string
		files  []workspacetest.File
		change func(t *testing.T, dir string)
		allow  []string
		limits runner.Limits
		check  func(t *testing.T, err error)
	}{
		{
			name: "outside allow",
			change: func(t *testing.T, dir string) {
				write(t, dir, "go.mod", "x", 0o644)
				write(t, dir, "main.go", "y", 0o644)
			},
			allow: []string{"go.mod", "go.sum"},
			check: policy("main.go"),
		},
		{
			name:   "deletion outside allow",
			change: func(t *testing.T, dir string) { _ = os.Remove(filepath.Join(dir, "old.txt")) },
			allow:  []string{"go.mod"},
			check:  policy("old.txt"),
		},
		{
			name:   "mode change outside allow",
			change: func(t *testing.T, dir string) { _ = os.Chmod(filepath.Join(dir, "run.sh"), 0o755) },
			allow:  []string{"*.mod"},
			check:  policy("run.sh"),
		},
		{
			name:   "too many files",
			change: func(t *testing.T, dir string) { write(t, dir, "a", "1", 0o644); write(t, dir, "b", "2", 0o644) },
			limits: runner.Limits{MaxFiles: 1},
			check:  limit("file count", 1, 2),
		},
		{
			name: "patch too large",
			change: func(t *testing.T, dir string) {
				write(t, dir, "big.txt", strings.Repeat("line of text\n", 10000), 0o644)
			},
			limits: runner.Limits{MaxPatchBytes: 4096},
			check:  limit("patch size", 4096, -1),
		},
		{
			name: "content too large though it compresses well",
			change: func(t *testing.T, dir string) {
				write(t, dir, "zeros.bin", string(make([]byte, 1<<20)), 0o644)
			},
			limits: runner.Limits{MaxPatchBytes: 64 << 10},
			check:  limit("changed content size", 64<<10, 1<<20),
		},
		{
			name: "submodule changed",
			files: append(append([]workspacetest.File(nil), base...),
				workspacetest.File{Path: "lib", Mode: "160000", Content: strings.Repeat("cd", 20)}),
			change: func(t *testing.T, dir string) { _ = os.Remove(filepath.Join(dir, "lib")) },
			check:  policy("lib"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files
			if files == nil {
				files = base
			}
			dir, sha := checkout(t, files...)
			tt.change(t, dir)
			_, err := workspace.Collect(context.Background(), dir, sha, tt.allow, tt.limits)
			tt.check(t, err)
		})
	}
}

func policy(paths ...string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var pe *runner.PolicyError
		if !errors.As(err, &pe) || !reflect.DeepEqual(pe.Paths, paths) {
			t.Fatalf("Collect = %v, want a PolicyError naming %v", err, paths)
		}
	}
}

// limit checks a LimitError; got < 0 means "more than limit".
func limit(what string, lim, got int64) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var le *runner.LimitError
		if !errors.As(err, &le) || le.What != what || le.Limit != lim || (got >= 0 && le.Got != got) || le.Got <= lim {
			t.Fatalf("Collect = %#v (%v), want a %s LimitError", le, err, what)
		}
	}
}

// A step can rewrite .git/config; Collect must not run what it asks.
func TestCollectIgnoresTamperedGitConfig(t *testing.T) {
	dir, sha := checkout(t, base...)
	marker := filepath.Join(t.TempDir(), "pwned")
	evil := "#!/bin/sh\ntouch " + marker + "\ncat\n"
	write(t, dir, ".git/evil.sh", evil, 0o755)
	cfg := "[core]\n\tfsmonitor = " + filepath.Join(dir, ".git/evil.sh") + "\n\thooksPath = .git\n" +
		"[filter \"x\"]\n\tclean = " + filepath.Join(dir, ".git/evil.sh") + "\n\trequired = true\n" +
		"[diff]\n\texternal = " + filepath.Join(dir, ".git/evil.sh") + "\n"
	write(t, dir, ".git/config", cfg, 0o644)
	write(t, dir, ".git/info/attributes", "* filter=x\n", 0o644)
	write(t, dir, ".git/info/exclude", "go.mod\n", 0o644)
	write(t, dir, "go.mod", "module evil\n", 0o644)
	res, err := workspace.Collect(context.Background(), dir, sha, nil, runner.Limits{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("Collect ran a command configured by the step")
	}
	if len(res.Changed) != 1 || !bytes.Equal(res.Changed[0].Content, []byte("module evil\n")) {
		t.Errorf("Changed = %+v; want go.mod (info/exclude must not hide it)", res.Changed)
	}
}
