package workspace

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/campaignbot/campaignbot/runner"
)

// Reasons a checkout fails, wrapped in the *runner.CloneError Clone
// returns (test them with errors.Is).
var (
	ErrEmptyRepository = errors.New("the repository is empty (it has no commits)")
	ErrUnknownCommit   = errors.New("the base commit does not exist in the repository")
	ErrNotFound        = errors.New("repository not found, or the token cannot read it")
	ErrAuth            = errors.New("authentication failed (token invalid or expired)")
)

// Checkout describes what Clone found, for the executor to log or act
// on. Submodules are recorded, never fetched: their directories stay
// empty, and a change to a gitlink is refused by Collect.
type Checkout struct {
	BaseSHA string
	// Submodules are the paths of gitlinks listed in .gitmodules.
	Submodules []string
	// LFS reports a .gitattributes using the lfs filter: such files are
	// checked out as their pointer files (there is no LFS download).
	LFS bool
}

// CloneOption adjusts Clone.
type CloneOption func(*cloneConfig)

type cloneConfig struct {
	gitBin string
	into   *Checkout
}

// WithGit uses the given git binary instead of the one on PATH.
func WithGit(path string) CloneOption { return func(c *cloneConfig) { c.gitBin = path } }

// Into fills in *c with what the checkout contains.
func Into(c *Checkout) CloneOption { return func(cc *cloneConfig) { cc.into = c } }

// shaPattern accepts full SHA-1 and SHA-256 object names only: a branch
// name or an abbreviation could resolve to something other than the
// commit the task was planned on.
var shaPattern = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// Clone checks out exactly baseSHA of cloneURL into dir (which must be
// empty or not exist), with a detached HEAD, fetching only that commit
// (depth 1) and falling back to a full fetch when the server refuses to
// serve an unadvertised commit. The token authenticates as GitHub
// expects (basic, x-access-token) through the fetch process's
// environment only; it never reaches the command line, .git/config, the
// working tree or the returned error. Failures are *runner.CloneError
// wrapping ErrEmptyRepository, ErrUnknownCommit, ErrNotFound, ErrAuth or
// the underlying cause.
func Clone(ctx context.Context, dir, cloneURL, baseSHA, token string, opts ...CloneOption) error {
	cfg := cloneConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	repoName := repoFromURL(cloneURL)
	fail := func(err error) error { return &runner.CloneError{Repository: repoName, Err: err} }
	if !shaPattern.MatchString(baseSHA) {
		if baseSHA == "" {
			return fail(fmt.Errorf("no base commit (%w)", ErrEmptyRepository))
		}
		return fail(fmt.Errorf("base %q is not a full commit id", baseSHA))
	}
	u, err := url.Parse(cloneURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		// http is for test forges; userinfo would put a secret on disk.
		return fail(fmt.Errorf("clone URL must be http(s) without credentials"))
	}
	bin := cfg.gitBin
	if bin == "" {
		if bin, err = exec.LookPath("git"); err != nil {
			return fail(fmt.Errorf("find git: %w", err))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(fmt.Errorf("create workspace: %w", err))
	}
	if err := initGitDir(dir); err != nil {
		return fail(err)
	}
	g := &git{bin: bin, dir: dir, env: gitEnv(dir), secrets: secretsFor(token)}
	var auth []string
	if token != "" {
		auth = configEnv([2]string{"http.extraHeader", "Authorization: Basic " + basicAuth(token)})
	}
	fetch := func(args ...string) error {
		return g.run(ctx, auth, nil, nil, append([]string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules"}, args...)...)
	}
	ferr := fetch("--depth=1", cloneURL, baseSHA)
	if ferr != nil && refused(ferr) {
		// The server does not serve a commit by id: fetch all branches
		// and look for it among them.
		ferr = fetch(cloneURL, "+refs/heads/*:refs/remotes/origin/*")
		if ferr == nil {
			if err := g.run(ctx, nil, nil, nil, "cat-file", "-e", baseSHA+"^{commit}"); err != nil {
				if refs, rerr := g.output(ctx, "for-each-ref", "--count=1", "refs/remotes/origin"); rerr == nil && len(refs) == 0 {
					return fail(fmt.Errorf("%w (fetching %s)", ErrEmptyRepository, baseSHA))
				}
				return fail(fmt.Errorf("%w: %s is on no branch of the repository", ErrUnknownCommit, baseSHA))
			}
		}
	}
	if ferr != nil {
		return fail(classify(ctx, g, auth, cloneURL, baseSHA, ferr))
	}
	if err := g.run(ctx, nil, nil, nil, "checkout", "--quiet", "--detach", baseSHA); err != nil {
		return fail(fmt.Errorf("check out %s: %w", baseSHA, err))
	}
	if cfg.into != nil {
		co, err := inspect(ctx, g, baseSHA)
		if err != nil {
			return fail(err)
		}
		*cfg.into = *co
	}
	return nil
}

// refused reports a server that will not send an unadvertised commit.
func refused(err error) bool {
	var ge *gitError
	if !errors.As(err, &ge) {
		return false
	}
	s := ge.stderr
	return strings.Contains(s, "not our ref") || strings.Contains(s, "unadvertised object") ||
		strings.Contains(s, "Server does not allow request")
}

// classify turns a failed fetch into one of the sentinel reasons. Only on
// this failure path does it spend a second request (ls-remote) to tell
// an empty repository from an unknown commit.
func classify(ctx context.Context, g *git, auth []string, cloneURL, baseSHA string, ferr error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("fetch %s: %w", baseSHA, ferr)
	}
	// Only git's stderr: the arguments hold the commit id, whose hex
	// digits could spell "401".
	var ge *gitError
	s := ""
	if errors.As(ferr, &ge) {
		s = ge.stderr
	}
	switch {
	case strings.Contains(s, "Authentication failed") || strings.Contains(s, "could not read Username") ||
		strings.Contains(s, "could not read Password") || strings.Contains(s, "returned error: 401"):
		return fmt.Errorf("%w: %w", ErrAuth, ferr)
	case strings.Contains(s, "not found") || strings.Contains(s, "returned error: 404") || strings.Contains(s, "returned error: 403"):
		return fmt.Errorf("%w: %w", ErrNotFound, ferr)
	}
	var refs strings.Builder
	if err := g.run(ctx, auth, nil, &refs, "ls-remote", cloneURL); err == nil {
		if strings.TrimSpace(refs.String()) == "" {
			return fmt.Errorf("%w: %w", ErrEmptyRepository, ferr)
		}
		return fmt.Errorf("%w: %s: %w", ErrUnknownCommit, baseSHA, ferr)
	}
	return fmt.Errorf("fetch %s: %w", baseSHA, ferr)
}

// inspect records submodules and LFS use of the checkout. It starts a
// process only when .gitmodules exists.
func inspect(ctx context.Context, g *git, baseSHA string) (*Checkout, error) {
	co := &Checkout{BaseSHA: baseSHA}
	if attrs, err := os.ReadFile(filepath.Join(g.dir, ".gitattributes")); err == nil {
		co.LFS = strings.Contains(string(attrs), "filter=lfs")
	}
	if _, err := os.Lstat(filepath.Join(g.dir, ".gitmodules")); err != nil {
		return co, nil
	}
	out, err := g.output(ctx, "ls-files", "-s", "-z")
	if err != nil {
		return nil, fmt.Errorf("list submodules: %w", err)
	}
	for _, rec := range strings.Split(string(out), "\x00") {
		// "<mode> <sha> <stage>\t<path>"
		if mode, rest, ok := strings.Cut(rec, " "); ok && mode == "160000" {
			if _, p, ok := strings.Cut(rest, "\t"); ok {
				co.Submodules = append(co.Submodules, p)
			}
		}
	}
	return co, nil
}

// repoFromURL names the repository ("owner/name") for errors.
func repoFromURL(cloneURL string) string {
	u, err := url.Parse(cloneURL)
	if err != nil {
		return "(unparsable clone URL)"
	}
	p := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	parts := strings.Split(p, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2] + "/" + parts[len(parts)-1]
	}
	return p
}
