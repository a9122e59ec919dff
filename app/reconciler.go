package app

import (
	"context"

	"github.com/hibiken/asynq"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/reconciler"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
)

// newReconciler builds the changeset tracker of the worker: drift
// re-executes through run control, merged and closed pull requests free
// the publisher's slots and settle the run, the next rollout wave waits
// for CI (the completion's wave gate, set in newServices) and a failing
// canary pauses the run.
func newReconciler(cfg config.Config, cc githubapp.ClientCreator, st *store.Store, q *queue.Client, svc *services, progress reconciler.Progress) *reconciler.Reconciler {
	rec := reconciler.New(st, tasks.Changesets{ClientCreator: cc, GraphQLURL: cfg.GitHub.V4APIURL}, q, svc.publisher, progress, svc.control,
		reconciler.Config{Debounce: cfg.Reconcile.DriftDebounce})
	rec.AddHook(settleHook{svc.completion})
	rec.AddHook(reconciler.NewWaves(st, svc.control))
	return rec
}

// settleHook moves the run forward (waves, completion) after a changeset moved.
type settleHook struct {
	settler interface {
		Settle(ctx context.Context, runID int64) error
	}
}

func (h settleHook) ChangesetChanged(ctx context.Context, cs store.Changeset) error {
	return h.settler.Settle(ctx, cs.Task.RunID)
}

// registerReconciler adds the reconciler's task handlers (and, with
// CAMPAIGN_RECONCILE_VERIFY, the verification pass on exec) and returns
// the sweeper that asks for a changeset sweep every interval.
func registerReconciler(mux *asynq.ServeMux, cfg config.Config, cc githubapp.ClientCreator, st *store.Store, q *queue.Client, rec *reconciler.Reconciler,
	exec runner.Executor, progress reconciler.Progress) tasks.Sweeper {
	if cfg.Reconcile.Verify && exec != nil {
		gitURL := cfg.Runner.GitURL
		v := reconciler.NewVerifier(st, tasks.Changesets{ClientCreator: cc, GraphQLURL: cfg.GitHub.V4APIURL}, exec, q, progress,
			func(repo string) string { return gitURL + repo + ".git" })
		rec.AddHook(v)
		mux.Handle(queue.TypeVerify, asynq.HandlerFunc((&tasks.Verify{Verifier: v}).ProcessTask))
	}
	mux.Handle(queue.TypeDrift, asynq.HandlerFunc((&tasks.Drift{Reconciler: rec}).ProcessTask))
	mux.Handle(queue.TypeReconcileSweep, asynq.HandlerFunc((&tasks.ReconcileSweep{Reconciler: rec}).ProcessTask))
	return &tasks.SweepScheduler{Queue: q, Interval: cfg.Reconcile.SweepInterval}
}
