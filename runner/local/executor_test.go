package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/local"
	"github.com/campaignbot/campaignbot/runner/workspace"
	"github.com/campaignbot/campaignbot/runner/workspace/workspacetest"
)

// The checkout token is minted for exactly the task's repository with
// contents:read, and is nowhere a step or a log can see it.
func TestTokenScopedAndNeverExposed(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			fg := workspacetest.New(t)
			tmp := t.TempDir()
			// Steps of a root worker run as 65534, which must reach it.
			for _, d := range []string{tmp, filepath.Dir(tmp)} {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			e := newExecutor(t, fg, m, local.WithTempDir(tmp))
			req := request(t, fg, defaultFiles, runner.Step{Name: "snoop", Run: "env; cat .git/config; cat /proc/self/environ | tr '\\0' '\\n'; grep -r . .git/ 2>/dev/null | grep -i -e auth -e token || true; echo bump >> README.md"})
			res, err := execute(t, e, req)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			want := []workspacetest.MintCall{{InstallationID: fg.InstallationID, Repos: []string{req.Repository}, Perms: map[string]string{"contents": "read"}}}
			if got := fg.MintCalls(); !reflect.DeepEqual(got, want) {
				t.Fatalf("token requests = %+v, want exactly %+v (one repository, contents:read only)", got, want)
			}
			out := res.Logs[0].Output
			minted := fg.Minted()
			if len(minted) != 1 || strings.Contains(out, minted[0]) {
				t.Errorf("the step saw the token (%d minted):\n%s", len(minted), out)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("the task directory was not removed: %v", left)
			}
			if strings.Contains(out, "ghs_") || strings.Contains(out, "Authorization") || strings.Contains(out, "extraheader") {
				t.Errorf("the step saw a credential:\n%s", out)
			}
			if !strings.Contains(out, "PATH=") || strings.Contains(out, "GOPATH") || strings.Contains(out, "GITHUB") {
				t.Errorf("step environment is not the minimal one:\n%s", out)
			}
			if len(res.Changed) != 1 || res.Changed[0].Path != "README.md" {
				t.Errorf("Changed = %+v", res.Changed)
			}
		})
	}
}

// A token that cannot read the repository fails the clone with a
// CloneError that does not contain it.
func TestCloneErrorsNeverContainToken(t *testing.T) {
	fg := workspacetest.New(t)
	var leaked string
	wrong := tokenFunc(func(repo string) (string, error) {
		leaked = fg.Token(t, []string{"repo-0001"}, map[string]string{"contents": "read"}) // another repository
		return leaked, nil
	})
	e := local.New(wrong, local.DisableSandbox())
	req := request(t, fg, defaultFiles, runner.Step{Name: "x", Run: "true"})
	_, err := execute(t, e, req)
	var ce *runner.CloneError
	if !errors.As(err, &ce) || !errors.Is(err, workspace.ErrNotFound) {
		t.Fatalf("Execute = %v, want a CloneError (not found)", err)
	}
	if strings.Contains(err.Error(), leaked) {
		t.Fatalf("error contains the token: %v", err)
	}
}

func TestFaults(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			fg := workspacetest.New(t)
			e := newExecutor(t, fg, m, local.WithMaxProcs(64))
			tests := []struct {
				name   string
				files  []workspacetest.File
				step   runner.Step
				allow  []string
				limits runner.Limits
				check  func(t *testing.T, res *runner.Result, err error, took time.Duration)
			}{
				{
					name: "step that hangs, with a child ignoring SIGTERM",
					step: runner.Step{Name: "hang", Timeout: time.Second,
						Run: "trap '' TERM; (trap '' TERM; exec sleep 987651) & sleep 987652"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						var se *runner.StepError
						if !errors.As(err, &se) || !se.TimedOut || se.Step != "hang" {
							t.Fatalf("err = %v, want a timed-out StepError", err)
						}
						if took > 10*time.Second {
							t.Errorf("took %v to stop a step with a 1s timeout", took)
						}
						if p := processesWith("sleep 98765"); len(p) > 0 {
							t.Errorf("processes survived the timeout: %v", p)
						}
					},
				},
				{
					name:   "step printing 1 GB",
					step:   runner.Step{Name: "loud", Run: "head -c 1000000000 /dev/zero; echo; echo THE-END"},
					limits: runner.Limits{MaxLogBytes: 64 << 10},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						if err != nil || !res.NoChanges {
							t.Fatalf("Execute = %+v, %v", res, err)
						}
						l := res.Logs[0]
						if !l.Truncated || len(l.Output) != 64<<10 || !strings.HasSuffix(l.Output, "\nTHE-END\n") {
							t.Errorf("log: truncated=%v len=%d tail=%q", l.Truncated, len(l.Output), l.Output[max(0, len(l.Output)-20):])
						}
					},
				},
				{
					name: "fork bomb (bounded to 400 processes whatever happens)",
					step: runner.Step{Name: "bomb", Timeout: 20 * time.Second,
						Run: "i=0; while [ $i -lt 400 ]; do sleep 987653 & i=$((i+1)); done; echo ALL-FORKED"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						var se *runner.StepError
						if !errors.As(err, &se) || se.TimedOut || strings.Contains(se.LogTail, "ALL-FORKED") {
							t.Fatalf("err = %v, want the step to fail when fork fails (pids limit 64)", err)
						}
						if p := processesWith("sleep 987653"); len(p) > 0 {
							t.Errorf("%d processes survived the step", len(p))
						}
					},
				},
				{
					// A real, exponential fork bomb. SAFETY: the step caps
					// itself with prlimit (RLIMIT_NPROC is enforced: steps
					// never run as root, see WithStepUser), the executor
					// caps it again (64), and the timeout is 3s. The
					// bounded case above proves the limit works first.
					name: "real fork bomb",
					step: runner.Step{Name: "bomb", Timeout: 3 * time.Second,
						Run: "exec prlimit --nproc=64 -- sh -c ': bomb-987655; b() { b | b & }; b; sleep 10'"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						var se *runner.StepError
						if !errors.As(err, &se) {
							t.Fatalf("err = %v, want a StepError", err)
						}
						if took > 15*time.Second {
							t.Errorf("took %v to end a bomb with a 3s timeout", took)
						}
						if p := processesWith("bomb-987655"); len(p) > 0 {
							t.Errorf("%d bomb processes survived the step", len(p))
						}
					},
				},
				{
					name: "writes outside the workspace",
					step: runner.Step{Name: "escape",
						Run: "echo x > /usr/campaignbot-escape 2>/dev/null && echo WROTE-USR; echo x > /etc/campaignbot-escape 2>/dev/null && echo WROTE-ETC; echo x > ../escape 2>/dev/null && echo WROTE-PARENT; true"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						if err != nil {
							t.Fatalf("Execute: %v", err)
						}
						if out := res.Logs[0].Output; strings.Contains(out, "WROTE-USR") || strings.Contains(out, "WROTE-ETC") {
							t.Errorf("a step wrote to the system:\n%s", out)
						}
						for _, p := range []string{"/usr/campaignbot-escape", "/etc/campaignbot-escape"} {
							if _, err := os.Lstat(p); err == nil {
								_ = os.Remove(p)
								t.Errorf("%s was created on the host", p)
							}
						}
					},
				},
				{
					name:  "change outside changes.allow",
					step:  runner.Step{Name: "sprawl", Run: "echo 'go 1.26' >> go.mod; echo x > main.go; rm README.md"},
					allow: []string{"go.mod", "go.sum"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						var pe *runner.PolicyError
						if !errors.As(err, &pe) || !reflect.DeepEqual(pe.Paths, []string{"README.md", "main.go"}) {
							t.Fatalf("err = %v (%+v), want a PolicyError naming README.md and main.go", err, res)
						}
					},
				},
				{
					name: "50 MB patch",
					step: runner.Step{Name: "huge", Run: "head -c 50000000 /dev/urandom > blob.bin"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						var le *runner.LimitError
						if !errors.As(err, &le) || le.What != "patch size" || le.Limit != runner.DefaultLimits().MaxPatchBytes || le.Got <= le.Limit {
							t.Fatalf("err = %v, want a patch size LimitError", err)
						}
					},
				},
				{
					name: "non-zero exit",
					step: runner.Step{Name: "fail", Run: "echo before; false; echo after"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						var se *runner.StepError
						if !errors.As(err, &se) || se.ExitCode != 1 || se.TimedOut || se.LogTail != "before\n" {
							t.Fatalf("err = %#v, want exit code 1 with the log", err)
						}
						if res == nil || len(res.Logs) != 1 || res.Logs[0].ExitCode != 1 {
							t.Errorf("the Result must carry the failed step's log: %+v", res)
						}
					},
				},
				{
					name: "binary file, executable bit and symlink",
					step: runner.Step{Name: "modes", Run: "printf 'a\\000b\\377' > bin.dat; chmod +x run.sh; ln -s go.mod link"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						if err != nil {
							t.Fatalf("Execute: %v", err)
						}
						want := []runner.FileChange{
							{Path: "bin.dat", Mode: runner.ModeFile, Content: []byte("a\x00b\xff")},
							{Path: "link", Mode: runner.ModeSymlink, Content: []byte("go.mod")},
							{Path: "run.sh", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: []byte("#!/bin/sh\necho hi\n")},
						}
						if !reflect.DeepEqual(res.Changed, want) {
							t.Errorf("Changed = %+v\nwant %+v", res.Changed, want)
						}
					},
				},
				{
					name: "submodule changed by a step",
					files: append(append([]workspacetest.File(nil), defaultFiles...),
						workspacetest.File{Path: ".gitmodules", Content: "[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.com/lib.git\n"},
						workspacetest.File{Path: "lib", Mode: "160000", Content: strings.Repeat("cd", 20)}),
					step: runner.Step{Name: "sub", Run: "test -d lib && test -z \"$(ls -A lib)\"; rmdir lib; echo file > lib"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						var pe *runner.PolicyError
						if !errors.As(err, &pe) || !reflect.DeepEqual(pe.Paths, []string{"lib"}) {
							t.Fatalf("err = %v, want a PolicyError naming the gitlink lib", err)
						}
					},
				},
				{
					name: "LFS pointer stays a pointer",
					files: []workspacetest.File{{Path: ".gitattributes", Content: "*.bin filter=lfs diff=lfs merge=lfs -text\n"},
						{Path: "m.bin", Content: "version https://git-lfs.github.com/spec/v1\noid sha256:" + strings.Repeat("b", 64) + "\nsize 9\n"}},
					step: runner.Step{Name: "lfs", Run: "grep -q git-lfs m.bin; sed -i 's/size 9/size 10/' m.bin"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						if err != nil || len(res.Changed) != 1 || !strings.Contains(string(res.Changed[0].Content), "size 10") {
							t.Fatalf("Execute = %+v, %v; want the edited pointer file", res, err)
						}
					},
				},
				{
					name: "network is off unless asked",
					step: runner.Step{Name: "net", Run: "tail -n +3 /proc/net/dev | wc -l"},
					check: func(t *testing.T, res *runner.Result, err error, took time.Duration) {
						if err != nil {
							t.Fatalf("Execute: %v", err)
						}
						n := strings.TrimSpace(res.Logs[0].Output)
						if m.name == "bwrap" && n != "1" {
							t.Errorf("the sandbox sees %s network interfaces, want only lo", n)
						}
					},
				},
			}
			limitWorks := false
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if tt.name == "real fork bomb" && !limitWorks {
						t.Skip("the bounded fork test did not show the pids limit working: not running a real fork bomb")
					}
					files := tt.files
					if files == nil {
						files = defaultFiles
					}
					req := request(t, fg, files, tt.step)
					req.Allow, req.Limits = tt.allow, tt.limits
					var before runtime.MemStats
					runtime.ReadMemStats(&before)
					start := time.Now()
					res, err := execute(t, e, req)
					took := time.Since(start)
					var after runtime.MemStats
					runtime.ReadMemStats(&after)
					t.Logf("took %v, allocated %d MB, err: %v", took.Round(time.Millisecond), (after.TotalAlloc-before.TotalAlloc)>>20, err)
					if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
						t.Errorf("the task allocated %d MB", alloc>>20)
					}
					tt.check(t, res, err, took)
					if strings.HasPrefix(tt.name, "fork bomb (bounded") && !t.Failed() {
						limitWorks = true
					}
				})
			}
		})
	}
}

func TestIsolationOptions(t *testing.T) {
	fg := workspacetest.New(t)
	plain := local.New(fg, local.DisableSandbox())
	if plain.Err() != nil || !strings.HasPrefix(plain.Isolation(), "none") {
		t.Errorf("DisableSandbox: %q, %v", plain.Isolation(), plain.Err())
	}
	missing := local.New(fg, local.RequireSandbox(), local.WithBwrap("/nonexistent/bwrap"))
	if missing.Err() == nil {
		t.Fatal("RequireSandbox without bwrap must be an error")
	}
	if _, err := execute(t, missing, runner.Request{Repository: "a/b", CloneURL: "https://x/a/b.git"}); err == nil {
		t.Error("Execute must refuse to run without the required sandbox")
	}
	if got := local.New(fg, local.WithBwrap("/nonexistent/bwrap")).Isolation(); !strings.HasPrefix(got, "none") {
		t.Errorf("auto without bwrap: %q", got)
	}
	if os.Geteuid() == 0 {
		private := t.TempDir() // 0700, root's
		if err := local.New(fg, local.DisableSandbox(), local.WithTempDir(private)).Err(); err == nil {
			t.Error("a temp dir the step user cannot reach must be a configuration error")
		}
	}
}

type tokenFunc func(repo string) (string, error)

func (f tokenFunc) RepoReadToken(_ context.Context, _ int64, repo string) (string, error) {
	return f(repo)
}
