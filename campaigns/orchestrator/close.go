package orchestrator

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// ClosePRInput is a campaign pull request to close.
type ClosePRInput struct {
	InstallationID int64
	CampaignID     int64
	Repository     string
	Number         int
	Comment        string
}

// PRCloser closes a pull request with a comment under the publishing
// budget. merged reports that it had been merged already (nothing closed).
type PRCloser interface {
	ClosePR(ctx context.Context, in ClosePRInput) (merged bool, err error)
}

// CloseStore is what closing reads and writes.
type CloseStore interface {
	GetRepoTask(ctx context.Context, id uuid.UUID) (store.RepoTask, error)
	LoadTaskContext(ctx context.Context, t store.RepoTask) (store.TaskContext, error)
	SetTaskState(ctx context.Context, id uuid.UUID, from []string, state, reason string) (bool, error)
}

// Closing closes campaign pull requests for Cancel and Skip.
type Closing struct {
	store  CloseStore
	closer PRCloser
	settle Settler
}

// NewClosing returns Closing; settle may be nil.
func NewClosing(st CloseStore, closer PRCloser, settle Settler) *Closing {
	return &Closing{store: st, closer: closer, settle: settle}
}

// Close closes the task's pull request and moves the task to finalState
// (closed or skipped; merged when a person merged it first). Errors are
// those of Publishing: *ThrottledError to wait, ErrGaveUp for good.
func (c *Closing) Close(ctx context.Context, taskID uuid.UUID, comment, finalState string) error {
	if finalState != store.TaskClosed && finalState != store.TaskSkipped {
		return fmt.Errorf("%w: closing ends a task closed or skipped, not %q", ErrGaveUp, finalState)
	}
	t, err := c.store.GetRepoTask(ctx, taskID)
	if err != nil {
		return err
	}
	if t.PRNumber == 0 || t.State == store.TaskMerged || t.State == store.TaskClosed {
		return nil
	}
	tc, err := c.store.LoadTaskContext(ctx, t)
	if err != nil {
		return err
	}
	merged, err := c.closer.ClosePR(ctx, ClosePRInput{InstallationID: tc.Run.InstallationID, CampaignID: tc.Run.CampaignID,
		Repository: t.Repository, Number: t.PRNumber, Comment: comment})
	if err != nil {
		return err
	}
	state := finalState
	if merged {
		state = store.TaskMerged
	}
	from := []string{store.TaskPending, store.TaskQueued, store.TaskRunning, store.TaskPatchReady, store.TaskPublishing, store.TaskPublished,
		store.TaskNoChanges, store.TaskFailed, store.TaskCancelled}
	if _, err := c.store.SetTaskState(ctx, taskID, from, state, ""); err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("repository", t.Repository).Int("pr", t.PRNumber).Str("state", state).Msg("campaign pull request closed")
	if c.settle != nil {
		return c.settle.Settle(ctx, t.RunID)
	}
	return nil
}
