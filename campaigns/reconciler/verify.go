package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
)

// VerifyStore is what verification reads and writes.
type VerifyStore interface {
	StartVerification(ctx context.Context, runID int64) (bool, error)
	PrepareVerification(ctx context.Context, runID int64) ([]store.RepoTask, error)
	RecordVerification(ctx context.Context, id uuid.UUID, landed bool, note string) (bool, int64, error)
	FinishVerificationIfDone(ctx context.Context, runID int64) (bool, error)
	Changeset(ctx context.Context, id uuid.UUID) (store.Changeset, error)
	LoadTaskContext(ctx context.Context, t store.RepoTask) (store.TaskContext, error)
}

// BranchHeads reads the current head of a repository's branch.
type BranchHeads interface {
	BranchHead(ctx context.Context, installationID int64, repo, branch string) (string, error)
}

// VerifyQueue queues one verification per task.
type VerifyQueue interface {
	EnqueueVerify(ctx context.Context, taskID string) (bool, error)
}

// Verifier is the verification pass: when every task of a run is final,
// the steps run again on each target's default branch; "no changes" means
// the change landed there, by the campaign's pull request or a person.
type Verifier struct {
	store    VerifyStore
	heads    BranchHeads
	exec     runner.Executor
	queue    VerifyQueue
	progress Progress
	cloneURL func(repo string) string
	limits   runner.Limits
}

// NewVerifier returns a Verifier; progress may be nil.
func NewVerifier(st VerifyStore, heads BranchHeads, exec runner.Executor, q VerifyQueue, progress Progress, cloneURL func(repo string) string) *Verifier {
	return &Verifier{store: st, heads: heads, exec: exec, queue: q, progress: progress, cloneURL: cloneURL, limits: runner.DefaultLimits()}
}

// ChangesetChanged implements Hook: a changeset that became final may
// have been the run's last.
func (v *Verifier) ChangesetChanged(ctx context.Context, cs store.Changeset) error {
	if cs.Task.State != stateMerged && cs.Task.State != stateClosed {
		return nil
	}
	return v.Start(ctx, cs.Task.RunID)
}

// Start begins the verification of a run whose tasks are all final (a
// no-op otherwise, and after the first time).
func (v *Verifier) Start(ctx context.Context, runID int64) error {
	ok, err := v.store.StartVerification(ctx, runID)
	if err != nil || !ok {
		return err
	}
	tasks, err := v.store.PrepareVerification(ctx, runID)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Int64("run_id", runID).Int("to_verify", len(tasks)).Msg("every pull request of the run is final; verifying where the change landed")
	var errs []error
	for _, t := range tasks {
		if _, err := v.queue.EnqueueVerify(ctx, t.ID.String()); err != nil {
			errs = append(errs, err)
		}
	}
	if len(tasks) == 0 {
		if _, err := v.store.FinishVerificationIfDone(ctx, runID); err != nil {
			errs = append(errs, err)
		}
	}
	v.requestUpdate(ctx, runID)
	return errors.Join(errs...)
}

// Verify runs one task's steps on its default branch's current head and
// records whether the change is there.
func (v *Verifier) Verify(ctx context.Context, taskID uuid.UUID) error {
	cs, err := v.store.Changeset(ctx, taskID)
	if err != nil {
		return err
	}
	if cs.Landed != nil {
		return nil // verified already (a redelivered task)
	}
	tc, err := v.store.LoadTaskContext(ctx, cs.Task)
	if err != nil {
		return err
	}
	s, diags := spec.Parse("spec.yaml", []byte(tc.SpecYAML))
	if s == nil || diags.HasErrors() {
		_, _, err := v.store.RecordVerification(ctx, taskID, false, "spec no longer validates")
		return err
	}
	head, err := v.heads.BranchHead(ctx, cs.InstallationID, cs.Task.Repository, cs.Task.BaseBranch)
	if err != nil {
		return fmt.Errorf("read the head of %s@%s: %w", cs.Task.Repository, cs.Task.BaseBranch, err)
	}
	req := runner.Request{
		TaskID: taskID.String(), InstallationID: cs.InstallationID, Repository: cs.Task.Repository,
		CloneURL: v.cloneURL(cs.Task.Repository), BaseBranch: cs.Task.BaseBranch, BaseSHA: head,
		Allow: s.Changes.Allow, Limits: v.limits,
	}
	for _, st := range s.Steps {
		req.Steps = append(req.Steps, runner.Step{Name: st.Name, Image: st.Image, Run: st.Run, Env: st.Env, Timeout: time.Duration(st.Timeout)})
	}
	res, err := v.exec.Execute(ctx, req)
	if err != nil {
		return fmt.Errorf("verify %s: %w", cs.Task.Repository, err)
	}
	landed := res != nil && res.NoChanges
	note := "the change is in " + cs.Task.BaseBranch
	if !landed {
		switch cs.Task.State {
		case stateClosed:
			note = "pull request closed unmerged"
		default:
			note = "merged, but the steps still change " + cs.Task.BaseBranch + " (reverted or changed since)"
		}
	}
	done, runID, err := v.store.RecordVerification(ctx, taskID, landed, note)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("repository", cs.Task.Repository).Bool("landed", landed).Str("note", note).Msg("verified")
	if done {
		zerolog.Ctx(ctx).Info().Int64("run_id", runID).Msg("verification of the run finished")
	}
	v.requestUpdate(ctx, runID)
	return nil
}

func (v *Verifier) requestUpdate(ctx context.Context, runID int64) {
	if v.progress == nil {
		return
	}
	if err := v.progress.RequestUpdate(context.WithoutCancel(ctx), runID); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Int64("run_id", runID).Msg("could not schedule a dashboard update")
	}
}
