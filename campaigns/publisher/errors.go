package publisher

import (
	"errors"
	"fmt"
	"time"
)

// Throttled says the publish was not attempted (or stopped before writing
// more) because a budget is spent. The caller reschedules the task for
// Until; it is neither a failure nor a reason to retry sooner.
type Throttled struct {
	Until  time.Time
	Reason string
}

func (e *Throttled) Error() string {
	return fmt.Sprintf("publish throttled until %s: %s", e.Until.UTC().Format(time.RFC3339), e.Reason)
}

// Reasons of a Permanent error.
const (
	ReasonArchived          = "repository is archived"
	ReasonRepoNotFound      = "repository not found or not accessible to the installation"
	ReasonBaseBranchMissing = "base branch does not exist"
	ReasonBaseCommitMissing = "base commit does not exist in the repository"
	ReasonPRClosed          = "the campaign's pull request was closed without merging"
	ReasonPRMerged          = "the campaign's pull request is already merged"
	ReasonHumanEdited       = "the campaign branch has commits campaignbot did not make"
	ReasonNoChanges         = "the result has no changes to publish"
	ReasonInvalidInput      = "invalid input"
	ReasonForbidden         = "the installation lacks a permission"
)

// Permanent says retrying the same publish cannot succeed; the task fails
// (or is skipped) with Reason.
type Permanent struct {
	Reason string
	Detail string
}

func (e *Permanent) Error() string {
	if e.Detail == "" {
		return "publish failed permanently: " + e.Reason
	}
	return "publish failed permanently: " + e.Reason + ": " + e.Detail
}

// Is makes errors.Is(err, &Permanent{Reason: r}) match on the reason.
func (e *Permanent) Is(target error) bool {
	t, ok := target.(*Permanent)
	return ok && t.Reason == e.Reason
}

// GitHubError is any other refusal by GitHub: what was being done, the
// HTTP status (200 for GraphQL errors), GitHub's error type and message.
type GitHubError struct {
	Op      string
	Status  int
	Type    string
	Message string
}

func (e *GitHubError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("%s: github %d %s: %s", e.Op, e.Status, e.Type, e.Message)
	}
	return fmt.Sprintf("%s: github %d: %s", e.Op, e.Status, e.Message)
}

// secondaryLimit is GitHub's secondary rate limit (403/429 with
// retry-after) or a spent primary budget (reset): the installation pauses.
type secondaryLimit struct {
	op      string
	wait    time.Duration // relative (retry-after); 0 when reset is used
	reset   time.Time     // absolute (x-ratelimit-reset); zero when wait is used
	primary bool
}

func (e *secondaryLimit) Error() string {
	kind := "secondary"
	if e.primary {
		kind = "primary"
	}
	return fmt.Sprintf("%s: github %s rate limit (retry after %s, reset %s)", e.op, kind, e.wait, e.reset)
}

// transient is a failure worth retrying soon: a 5xx, a dropped connection.
type transient struct {
	op  string
	err error
}

func (e *transient) Error() string { return e.op + ": transient: " + e.err.Error() }
func (e *transient) Unwrap() error { return e.err }

// errConflict is a write that lost a race with GitHub's state (the ref or
// pull request already exists, the branch moved): the next attempt starts
// from a fresh Lookup and adopts what is there.
var errConflict = errors.New("github state changed under the publish")

// errCrash is returned by the test hook that simulates a crash between two
// writes.
var errCrash = errors.New("simulated crash")
