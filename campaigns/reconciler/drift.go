package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// BaseMoved records a push to a branch of repo and schedules a drift check
// of every open campaign pull request based on it, after the debounce. A
// push to a branch no campaign pull request is based on costs one
// database statement.
func (r *Reconciler) BaseMoved(ctx context.Context, repo, branch, sha string) error {
	sets, err := r.store.RecordBaseMove(ctx, repo, branch, sha)
	if err != nil || len(sets) == 0 {
		return err
	}
	// One check per task per debounce window: the task id names the
	// window, so more pushes in it add nothing to the queue.
	now := r.now()
	bucket := now.UnixNano() / int64(r.cfg.Debounce)
	due := time.Unix(0, (bucket+1)*int64(r.cfg.Debounce)).Add(r.cfg.Debounce)
	var errs []error
	for _, cs := range sets {
		id := "drift:" + cs.Task.ID.String() + ":" + strconv.FormatInt(bucket, 10)
		if _, err := r.queue.EnqueueDrift(ctx, cs.Task.ID.String(), id, due.Sub(now)); err != nil {
			errs = append(errs, err)
		}
		r.requestUpdate(ctx, cs.Task.RunID)
	}
	zerolog.Ctx(ctx).Info().Str("repository", repo).Str("branch", branch).Int("pull_requests", len(sets)).Msg("base branch moved; drift check scheduled")
	return errors.Join(errs...)
}

// Drift checks one changeset after its base branch moved and applies the
// spec's drift.baseChanged. It returns a *WaitError while pushes are still
// arriving (the debounce) or GitHub is still computing mergeability.
func (r *Reconciler) Drift(ctx context.Context, taskID uuid.UUID) error {
	cs, err := r.store.Changeset(ctx, taskID)
	if err != nil {
		return err
	}
	switch cs.Task.State {
	case statePublished:
	case store.TaskQueued, store.TaskRunning, store.TaskPatchReady, store.TaskPublishing:
		// Being re-executed or re-published: decide on the newer base
		// once that is done.
		return &WaitError{Until: r.now().Add(r.cfg.Debounce), Reason: "the pull request is being updated"}
	default:
		return nil
	}
	if cs.HumanEditedSHA != "" || cs.BaseHeadSHA == "" || cs.DriftHandledSHA == cs.BaseHeadSHA {
		return nil
	}
	if cs.BaseMovedAt != nil {
		if quiet := cs.BaseMovedAt.Add(r.cfg.Debounce); quiet.After(r.now()) {
			return &WaitError{Until: quiet, Reason: "the base branch moved less than the debounce ago"}
		}
	}
	if t := cs.Task.SnoozedUntil; t != nil && t.After(r.now()) {
		// A maintainer snoozed updates of this pull request: decide after.
		return &WaitError{Until: *t, Reason: "the pull request is snoozed"}
	}
	drift, tc, err := r.policy(ctx, cs)
	if err != nil {
		return err
	}
	log := zerolog.Ctx(ctx).With().Str("repository", cs.Task.Repository).Int("pr", cs.Task.PRNumber).Str("policy", drift.BaseChanged).Logger()
	if drift.BaseChanged == spec.BaseChangedIgnore {
		_, err := r.store.ClaimDrift(ctx, cs.Task.ID, cs.BaseHeadSHA, false)
		log.Debug().Msg("base branch moved; drift.baseChanged: ignore")
		return err
	}
	// GitHub's answer now: still open, the base's current head, conflicts.
	prs, err := r.read(ctx, cs.InstallationID, []string{cs.Task.PRNodeID}, drift.BaseChanged == spec.BaseChangedRecreate)
	if err != nil {
		return err
	}
	pr := prs[0]
	if err := r.applyRead(ctx, cs, pr); err != nil {
		return err
	}
	if pr == nil || pr.State != "OPEN" {
		return nil
	}
	if cs, err = r.store.Changeset(ctx, taskID); err != nil {
		return err
	}
	if cs.Task.State != statePublished || cs.HumanEditedSHA != "" {
		return nil // the read found a person's commit, or it finished
	}
	base := pr.BaseHeadSHA
	if base == "" {
		base = cs.BaseHeadSHA
	}
	if base == cs.Task.BaseSHA {
		return nil // not behind: the change is made on the current base
	}
	act := drift.BaseChanged == spec.BaseChangedRebase
	if drift.BaseChanged == spec.BaseChangedRecreate {
		switch pr.Mergeable {
		case "CONFLICTING":
			act = true
		case "UNKNOWN", "":
			// GitHub computes mergeability in the background; ask again soon.
			return &WaitError{Until: r.now().Add(10 * time.Second), Reason: "GitHub is still computing mergeability"}
		}
	}
	claimed, err := r.store.ClaimDrift(ctx, cs.Task.ID, base, act)
	if err != nil || !claimed || !act {
		return err
	}
	log.Info().Str("base", short(base)).Str("was", short(cs.Task.BaseSHA)).Msg("base branch moved; re-executing the steps on it")
	if r.rebaser != nil {
		err := r.rebaser.Rebase(ctx, cs.Task.ID, r.cfg.Actor)
		if errors.Is(err, orchestrator.ErrWrongState) {
			// A paused or cancelled run updates no pull request; the next
			// base change (or /campaign rebase) brings it up to date.
			log.Info().Err(err).Msg("not rebased: the run does not update pull requests now")
			return nil
		}
		if err != nil {
			return fmt.Errorf("rebase %s#%d: %w", cs.Task.Repository, cs.Task.PRNumber, err)
		}
	} else if queued, err := r.requeue(ctx, cs, tc, base); err != nil || !queued {
		return err
	}
	r.audit(ctx, cs, tc, "drift.rebase", fmt.Sprintf("%s moved from %s to %s; re-executing the steps on it and rewriting the branch (drift.baseChanged: %s)",
		cs.Task.BaseBranch, short(cs.Task.BaseSHA), short(base), drift.BaseChanged), map[string]any{"base": base, "was": cs.Task.BaseSHA, "policy": drift.BaseChanged})
	r.requestUpdate(ctx, cs.Task.RunID)
	return nil
}

// ExecuteQueue enqueues repo-task executions (the fallback re-execution).
type ExecuteQueue interface {
	EnqueueExecute(ctx context.Context, taskID, dedupeKey string) (bool, error)
}

// requeue re-executes a task through the execute pipeline: back to queued
// on the new base under a dedupe key naming that base, so the same base
// is never executed twice.
func (r *Reconciler) requeue(ctx context.Context, cs store.Changeset, tc store.TaskContext, base string) (bool, error) {
	eq, ok := r.queue.(ExecuteQueue)
	if !ok {
		return false, errors.New("no way to re-execute: neither a Rebaser nor an execute queue is configured")
	}
	key := orchestrator.DedupeKey(cs.CampaignID, cs.Task.Repository, tc.SpecVersion, "rebase:"+base, "")
	t, ok, err := r.store.RequeueForRebase(ctx, cs.Task.ID, base, key)
	if err != nil || !ok {
		return false, err
	}
	if _, err := eq.EnqueueExecute(ctx, t.ID.String(), key); err != nil {
		return false, fmt.Errorf("enqueue the re-execution of %s: %w", cs.Task.Repository, err)
	}
	return true, nil
}
