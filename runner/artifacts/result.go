package artifacts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campaignbot/campaignbot/runner"
)

// ResultFormat names the encoding of the result artifact. Within v1,
// fields may be added (decoders ignore unknown ones); anything else is a
// new format name.
const ResultFormat = "campaignbot.result/v1"

// ErrResultTooLarge is returned by DecodeResult past its byte limit.
var ErrResultTooLarge = errors.New("result artifact exceeds its size limit")

// The wire types are separate from runner's so that renaming a Go field
// can never silently change the format. Bytes that need not be UTF-8
// (file contents, the diff, step output) are []byte, which JSON carries
// as base64: a Go string with invalid UTF-8 would be mangled to U+FFFD.
type wireResult struct {
	Format    string     `json:"format"`
	NoChanges bool       `json:"no_changes"`
	Changed   []wireFile `json:"changed"`
	Deleted   []string   `json:"deleted"`
	Diff      []byte     `json:"diff"`
	PatchHash string     `json:"patch_hash"`
	BaseSHA   string     `json:"base_sha"`
	Logs      []wireLog  `json:"logs"`
}

type wireFile struct {
	Path    string `json:"path"`
	Mode    string `json:"mode"`
	OldMode string `json:"old_mode,omitempty"`
	Content []byte `json:"content"`
}

type wireLog struct {
	Name       string `json:"name"`
	ExitCode   int    `json:"exit_code"`
	DurationNS int64  `json:"duration_ns"`
	Output     []byte `json:"output"`
	Truncated  bool   `json:"truncated,omitempty"`
}

// EncodeResult encodes res as the result artifact: one JSON document in
// ResultFormat. It refuses a result the publisher could not commit
// faithfully (a path that is not clean, relative UTF-8, an unknown mode).
func EncodeResult(res *runner.Result) ([]byte, error) {
	if res == nil {
		return nil, errors.New("encode result: nil result")
	}
	w := wireResult{
		Format: ResultFormat, NoChanges: res.NoChanges, Deleted: res.Deleted,
		Diff: []byte(res.Diff), PatchHash: res.PatchHash, BaseSHA: res.BaseSHA,
	}
	for _, f := range res.Changed {
		w.Changed = append(w.Changed, wireFile{Path: f.Path, Mode: string(f.Mode), OldMode: string(f.OldMode), Content: f.Content})
	}
	for _, l := range res.Logs {
		w.Logs = append(w.Logs, wireLog{Name: l.Name, ExitCode: l.ExitCode, DurationNS: int64(l.Duration), Output: []byte(l.Output), Truncated: l.Truncated})
	}
	if err := w.validate(); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return b, nil
}

// DecodeResult reads a result artifact of at most maxBytes bytes; past
// that it stops reading and returns ErrResultTooLarge, so a hostile or
// broken executor cannot make the control plane buffer without bound.
func DecodeResult(r io.Reader, maxBytes int64) (*runner.Result, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("decode result: limit %d must be positive", maxBytes)
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	if int64(len(raw)) > maxBytes {
		return nil, fmt.Errorf("decode result: %w (%d bytes)", ErrResultTooLarge, maxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var w wireResult
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode result: data after the JSON document")
	}
	if w.Format != ResultFormat {
		return nil, fmt.Errorf("decode result: format %q, want %q", w.Format, ResultFormat)
	}
	if err := w.validate(); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	res := &runner.Result{
		NoChanges: w.NoChanges, Deleted: w.Deleted, Diff: string(w.Diff),
		PatchHash: w.PatchHash, BaseSHA: w.BaseSHA,
	}
	for _, f := range w.Changed {
		res.Changed = append(res.Changed, runner.FileChange{Path: f.Path, Mode: runner.Mode(f.Mode), OldMode: runner.Mode(f.OldMode), Content: f.Content})
	}
	for _, l := range w.Logs {
		res.Logs = append(res.Logs, runner.StepLog{Name: l.Name, ExitCode: l.ExitCode, Duration: time.Duration(l.DurationNS), Output: string(l.Output), Truncated: l.Truncated})
	}
	return res, nil
}

// validate enforces, on both sides, what the publisher relies on.
func (w *wireResult) validate() error {
	if w.NoChanges && (len(w.Changed) > 0 || len(w.Deleted) > 0) {
		return errors.New("a no-changes result lists changes")
	}
	for _, f := range w.Changed {
		if err := checkRepoPath(f.Path); err != nil {
			return err
		}
		if !knownMode(f.Mode) || (f.OldMode != "" && !knownMode(f.OldMode)) {
			return fmt.Errorf("file %q: unknown mode %q (old %q)", f.Path, f.Mode, f.OldMode)
		}
	}
	for _, p := range w.Deleted {
		if err := checkRepoPath(p); err != nil {
			return err
		}
	}
	return nil
}

func knownMode(m string) bool {
	switch runner.Mode(m) {
	case runner.ModeFile, runner.ModeExecutable, runner.ModeSymlink:
		return true
	}
	return false
}

// checkRepoPath accepts a clean, relative, UTF-8 path inside the work
// tree and outside .git.
func checkRepoPath(p string) error {
	switch {
	case p == "" || !utf8.ValidString(p) || strings.ContainsRune(p, 0):
		return fmt.Errorf("path %q: empty, not UTF-8 or contains NUL", p)
	case path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q: not a clean relative path", p)
	case strings.EqualFold(strings.SplitN(p, "/", 2)[0], ".git"): // .GIT is .git on case-insensitive checkouts
		return fmt.Errorf("path %q: inside .git", p)
	}
	return nil
}
