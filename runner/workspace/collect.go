package workspace

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/campaignbot/campaignbot/runner"
)

// CollectOption adjusts Collect.
type CollectOption func(*collectConfig)

type collectConfig struct{ gitBin string }

// CollectWithGit uses the given git binary instead of the one on PATH.
func CollectWithGit(path string) CollectOption { return func(c *collectConfig) { c.gitBin = path } }

// EffectiveLimits fills the zero fields of l from runner.DefaultLimits.
func EffectiveLimits(l runner.Limits) runner.Limits {
	d := runner.DefaultLimits()
	if l.MaxPatchBytes <= 0 {
		l.MaxPatchBytes = d.MaxPatchBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxLogBytes <= 0 {
		l.MaxLogBytes = d.MaxLogBytes
	}
	return l
}

// Collect stages everything the steps left in the checkout at dir and
// returns the change against baseSHA: changed files with their modes and
// contents (as git stores them, after the repository's own attributes),
// deletions, the binary-safe unified diff and the PatchHash. Nothing
// staged is a Result with NoChanges.
//
// Staging is `git add -A`: the repository's .gitignore files are
// honoured (build output a step leaves behind is not a change), the
// worker's own excludes and .git/info/exclude are not. A tracked file
// stays tracked even if ignored.
//
// Refusals: a change to a submodule (gitlink) or to a path outside allow
// is a *runner.PolicyError naming the paths; more than MaxFiles paths, a
// diff larger than MaxPatchBytes, or changed contents larger than
// MaxPatchBytes in total, a *runner.LimitError. Zero limits take
// runner.DefaultLimits. Before running git, Collect rewrites .git's
// config, HEAD, hooks and excludes, since a step may have changed them to
// run code here.
func Collect(ctx context.Context, dir, baseSHA string, allow []string, limits runner.Limits, opts ...CollectOption) (*runner.Result, error) {
	cfg := collectConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	limits = EffectiveLimits(limits)
	if !shaPattern.MatchString(baseSHA) {
		return nil, fmt.Errorf("collect: base %q is not a full commit id", baseSHA)
	}
	bin := cfg.gitBin
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("git"); err != nil {
			return nil, fmt.Errorf("collect: find git: %w", err)
		}
	}
	if err := resetGitDir(dir, baseSHA); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	g := &git{bin: bin, dir: dir, env: gitEnv(dir)}
	if err := g.run(ctx, nil, nil, nil, "add", "-A"); err != nil {
		return nil, fmt.Errorf("collect: stage changes: %w", err)
	}
	// One git process lists the changes with their modes (--raw) and
	// writes the patch; both are bounded while they stream.
	diff := &cappedBuffer{max: limits.MaxPatchBytes}
	split := &rawPatchWriter{keep: limits.MaxFiles + 1, patch: diff}
	if err := g.run(ctx, nil, nil, split, "diff", "--cached", "--raw", "-p", "--binary", "-z", "--no-renames", "--no-abbrev",
		"--no-ext-diff", "--no-textconv", "--no-color", "--ignore-submodules=none", baseSHA, "--"); err != nil {
		return nil, fmt.Errorf("collect: diff: %w", err)
	}
	entries, count, err := split.result()
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	res := &runner.Result{BaseSHA: baseSHA}
	if count == 0 {
		res.NoChanges = true
		res.PatchHash = PatchHash(nil, nil)
		return res, nil
	}
	if count > limits.MaxFiles {
		return nil, &runner.LimitError{What: "file count", Limit: int64(limits.MaxFiles), Got: int64(count)}
	}
	if err := checkPolicy(entries, allow); err != nil {
		return nil, err
	}
	if diff.total > limits.MaxPatchBytes {
		return nil, &runner.LimitError{What: "patch size", Limit: limits.MaxPatchBytes, Got: diff.total}
	}
	res.Diff = diff.buf.String()
	var wanted []rawEntry
	for _, e := range entries {
		if e.status == 'D' {
			res.Deleted = append(res.Deleted, e.path)
			continue
		}
		wanted = append(wanted, e)
	}
	contents, err := readContents(ctx, g, wanted, limits.MaxPatchBytes)
	if err != nil {
		return nil, err
	}
	for i, e := range wanted {
		fc := runner.FileChange{Path: e.path, Mode: runner.Mode(e.newMode), Content: contents[i]}
		if e.oldMode != modeNone {
			fc.OldMode = runner.Mode(e.oldMode)
		}
		res.Changed = append(res.Changed, fc)
	}
	sort.Slice(res.Changed, func(i, j int) bool { return res.Changed[i].Path < res.Changed[j].Path })
	sort.Strings(res.Deleted)
	res.PatchHash = PatchHash(res.Changed, res.Deleted)
	return res, nil
}

// checkPolicy refuses gitlink changes, unknown modes and paths outside
// allow. Every offending path is named, not just the first.
func checkPolicy(entries []rawEntry, allow []string) error {
	var gitlinks, outside []string
	for _, e := range entries {
		if e.oldMode == modeGitlink || e.newMode == modeGitlink {
			gitlinks = append(gitlinks, e.path)
			continue
		}
		if e.status != 'D' {
			switch runner.Mode(e.newMode) {
			case runner.ModeFile, runner.ModeExecutable, runner.ModeSymlink:
			default:
				return fmt.Errorf("collect: %s has unexpected mode %s", e.path, e.newMode)
			}
		}
		if !allowed(allow, e.path) {
			outside = append(outside, e.path)
		}
	}
	if len(gitlinks) > 0 {
		return &runner.PolicyError{Paths: gitlinks, Reason: "the change touches a submodule (gitlink), which campaigns do not change"}
	}
	if len(outside) > 0 {
		return &runner.PolicyError{Paths: outside, Reason: "paths outside changes.allow"}
	}
	return nil
}

// readContents returns the staged content of entries: from the work
// tree where it provably is the staged content, the rest from git. In
// total at most max bytes are accepted.
func readContents(ctx context.Context, g *git, entries []rawEntry, max int64) ([][]byte, error) {
	out := make([][]byte, len(entries))
	var missing []rawEntry
	var at []int
	var total int64
	for i, e := range entries {
		c, ok := worktreeContent(g.dir, e, max-total)
		if !ok {
			missing, at = append(missing, e), append(at, i)
			continue
		}
		if total += int64(len(c)); total > max {
			return nil, &runner.LimitError{What: "changed content size", Limit: max, Got: total}
		}
		out[i] = c
	}
	blobs, err := readBlobs(ctx, g, missing, max-total)
	if err != nil {
		var le *runner.LimitError
		if errors.As(err, &le) {
			le.Limit, le.Got = max, le.Got+total
		}
		return nil, err
	}
	for k, i := range at {
		out[i] = blobs[k]
	}
	return out, nil
}

// readBlobs reads the staged content of entries with one
// `git cat-file --batch`, refusing more than max bytes in total before
// reading them.
func readBlobs(ctx context.Context, g *git, entries []rawEntry, max int64) ([][]byte, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	var in bytes.Buffer
	for _, e := range entries {
		in.WriteString(e.newSHA + "\n")
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		err := g.run(runCtx, nil, &in, pw, "cat-file", "--batch")
		_ = pw.CloseWithError(err)
		done <- err
	}()
	// abort stops git and waits for it before returning err.
	abort := func(err error) ([][]byte, error) {
		cancel()
		_ = pr.Close()
		<-done
		return nil, err
	}
	r := bufio.NewReader(pr)
	out := make([][]byte, len(entries))
	var total int64
	for i, e := range entries {
		header, err := r.ReadString('\n')
		if err != nil {
			return abort(fmt.Errorf("collect: read %s: %w", e.path, err))
		}
		f := strings.Fields(header)
		if len(f) != 3 || f[0] != e.newSHA || f[1] != "blob" {
			return abort(fmt.Errorf("collect: read %s: unexpected object header %q", e.path, strings.TrimSpace(header)))
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 {
			return abort(fmt.Errorf("collect: read %s: bad size in %q", e.path, strings.TrimSpace(header)))
		}
		total += size
		if total > max {
			return abort(&runner.LimitError{What: "changed content size", Limit: max, Got: total})
		}
		buf := make([]byte, size+1) // content and the trailing newline
		if _, err := io.ReadFull(r, buf); err != nil {
			return abort(fmt.Errorf("collect: read %s: %w", e.path, err))
		}
		out[i] = buf[:size]
	}
	_ = pr.Close()
	if err := <-done; err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return nil, fmt.Errorf("collect: read contents: %w", err)
	}
	return out, nil
}

// cappedBuffer keeps at most max bytes and counts them all, so an
// oversized diff is measured without being held.
type cappedBuffer struct {
	buf   bytes.Buffer
	max   int64
	total int64
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.total += int64(len(p))
	if room := c.max - int64(c.buf.Len()); room > 0 {
		_, _ = c.buf.Write(p[:min(int64(len(p)), room)])
	}
	return len(p), nil
}
