// Package runner executes a campaign's steps in one target repository and
// returns the change they made. The Executor interface has two
// implementations: runner/local (sandboxed processes, for laptops, the
// sandbox and tests) and runner/kube (one Kubernetes Job per task). The
// types here are the contract between the orchestrator and both.
package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Executor checks a repository out at a base commit, runs the steps and
// returns the change. It returns an error for a failed task (a *StepError,
// *PolicyError, *LimitError or *CloneError say why); a step that succeeds
// but changes nothing is a Result with NoChanges, not an error.
type Executor interface {
	Execute(ctx context.Context, req Request) (*Result, error)
}

// TokenSource mints the token a checkout uses: an installation token for
// exactly one repository with contents: read, short-lived. It is never
// written to disk, logged or passed to a step.
type TokenSource interface {
	RepoReadToken(ctx context.Context, installationID int64, repo string) (string, error)
}

// Request is one task: one repository, one spec version.
type Request struct {
	TaskID         string // the repo task's UUID; names logs, Jobs and artifacts
	InstallationID int64
	Repository     string // owner/name
	CloneURL       string // https://host/owner/name.git
	BaseBranch     string
	BaseSHA        string // the commit to check out and change
	Steps          []Step
	// Allow are changes.allow patterns (path.Match; * does not cross /);
	// empty allows every path.
	Allow  []string
	Limits Limits
}

// Step is one command of the spec.
type Step struct {
	Name    string
	Image   string // container image (kube); ignored by the local executor
	Run     string // shell script, run with sh -e in the repository root
	Env     map[string]string
	Timeout time.Duration
	// Network lets the step reach the network (off by default where the
	// executor can enforce it).
	Network bool
}

// Limits cap what one task may produce.
type Limits struct {
	MaxPatchBytes int64 // size of the unified diff
	MaxFiles      int   // changed + deleted paths
	MaxLogBytes   int64 // per step; longer output keeps its tail
}

// DefaultLimits are the limits used when a Request leaves them zero.
func DefaultLimits() Limits {
	return Limits{MaxPatchBytes: 10 << 20, MaxFiles: 1000, MaxLogBytes: 1 << 20}
}

// Mode is a git file mode.
type Mode string

// File modes a change can carry.
const (
	ModeFile       Mode = "100644"
	ModeExecutable Mode = "100755"
	ModeSymlink    Mode = "120000"
)

// FileChange is a file added or modified by the steps.
type FileChange struct {
	Path    string
	Mode    Mode
	Content []byte // for a symlink, its target
	// OldMode is the mode before the change ("" for a new file).
	OldMode Mode
}

// Result is what a task produced.
type Result struct {
	NoChanges bool
	Changed   []FileChange // sorted by path
	Deleted   []string     // sorted
	// Diff is the unified diff (git diff --binary) of the change.
	Diff string
	// PatchHash identifies the change independent of how it was made:
	// sha256 over sorted paths, modes and content hashes, and deletions.
	PatchHash string
	Logs      []StepLog
	// BaseSHA is the commit the change was made on.
	BaseSHA string
}

// StepLog is one step's outcome.
type StepLog struct {
	Name     string
	ExitCode int
	Duration time.Duration
	Output   string // combined stdout/stderr, tail kept within MaxLogBytes
	// Truncated says the output was longer and only its tail is kept.
	Truncated bool
}

// StepError: a step exited non-zero or timed out.
type StepError struct {
	Step     string
	ExitCode int
	TimedOut bool
	LogTail  string
}

func (e *StepError) Error() string {
	if e.TimedOut {
		return fmt.Sprintf("step %q timed out", e.Step)
	}
	return fmt.Sprintf("step %q failed with exit code %d", e.Step, e.ExitCode)
}

// PolicyError: the change touched paths outside changes.allow, or left
// the workspace.
type PolicyError struct {
	Paths  []string
	Reason string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("change not allowed: %s: %v", e.Reason, e.Paths)
}

// LimitError: the change or the logs exceeded a limit.
type LimitError struct {
	What       string // "patch size", "file count", ...
	Limit, Got int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s %d exceeds the limit of %d", e.What, e.Got, e.Limit)
}

// CloneError: the repository could not be checked out.
type CloneError struct {
	Repository string
	Err        error
}

func (e *CloneError) Error() string {
	return fmt.Sprintf("clone %s: %v", e.Repository, e.Err)
}

func (e *CloneError) Unwrap() error { return e.Err }

// Permanent reports whether retrying err cannot help: the steps, the
// policy or the limits said no. Clone errors and infrastructure errors
// are worth a retry.
func Permanent(err error) bool {
	var se *StepError
	var pe *PolicyError
	var le *LimitError
	return errors.As(err, &se) || errors.As(err, &pe) || errors.As(err, &le)
}
