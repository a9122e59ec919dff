package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// RunStore persists runs and their tasks.
type RunStore interface {
	CreateRun(ctx context.Context, r store.Run, tasks []store.NewTask) (store.Run, []store.RepoTask, bool, error)
	ActivateRun(ctx context.Context, runID int64, tasks []store.NewTask) (store.Run, []store.RepoTask, bool, error)
	Exclusions(ctx context.Context, campaignID int64) (map[string]bool, error)
}

// TaskQueue enqueues repo-task executions under their dedupe keys.
type TaskQueue interface {
	EnqueueExecute(ctx context.Context, taskID, dedupeKey string) (bool, error)
}

// Target is one repository a run will change, with the commit to change.
type Target struct {
	FullName      string
	ID            int64
	DefaultBranch string
	HeadSHA       string
}

// TargetResolver resolves a spec's targets with the base commits to use.
type TargetResolver interface {
	Resolve(ctx context.Context, installationID int64, t spec.Targets) ([]Target, error)
}

// Starter starts runs: one repo task per target, written with the run in
// one transaction, then one execute task each on the queue.
type Starter struct {
	store    RunStore
	targets  TargetResolver
	queue    TaskQueue
	progress Progress
}

// NewStarter returns a Starter; progress (may be nil) hears of new runs.
func NewStarter(st RunStore, targets TargetResolver, q TaskQueue, progress Progress) *Starter {
	return &Starter{store: st, targets: targets, queue: q, progress: progress}
}

// StartInput names the spec version to run.
type StartInput struct {
	CampaignID     int64
	Version        store.SpecVersion
	Spec           *spec.Spec
	InstallationID int64
	ControlSHA     string
}

// DedupeKey is sha256(campaign_id + repo + spec_version + task_type +
// desired_patch_hash) (DESIGN.md §6), the queue's task id: the same work
// is never queued twice.
func DedupeKey(campaignID int64, repo string, specVersion int, taskType, desiredPatchHash string) string {
	h := sha256.New()
	for _, part := range []string{strconv.FormatInt(campaignID, 10), repo, strconv.Itoa(specVersion), taskType, desiredPatchHash} {
		h.Write([]byte(part))
		h.Write([]byte{0}) // separator: "1"+"23" must not equal "12"+"3"
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Start resolves targets, creates the run and its tasks, and enqueues
// them. Starting the same version again finds the run and re-enqueues
// only what is still queued, which the task ids make a no-op.
func (s *Starter) Start(ctx context.Context, in StartInput) (store.Run, []store.RepoTask, error) {
	tasks, err := s.tasks(ctx, in)
	if err != nil {
		return store.Run{}, nil, err
	}
	run, stored, created, err := s.store.CreateRun(ctx, store.Run{
		CampaignID: in.CampaignID, SpecVersionID: in.Version.ID, State: store.RunRunning,
		InstallationID: in.InstallationID, ControlSHA: in.ControlSHA,
	}, tasks)
	if err != nil {
		return run, nil, err
	}
	if !created && run.State == store.RunAwaitingApproval {
		// The version waited for approval and has it now.
		run, stored, _, err = s.store.ActivateRun(ctx, run.ID, tasks)
		if err != nil {
			return run, nil, err
		}
		created = true
	}
	return run, stored, s.enqueue(ctx, run, stored, created)
}

// Activate starts a run that waited in awaiting_approval.
func (s *Starter) Activate(ctx context.Context, run store.Run, in StartInput) (store.Run, []store.RepoTask, error) {
	tasks, err := s.tasks(ctx, in)
	if err != nil {
		return run, nil, err
	}
	r, stored, ok, err := s.store.ActivateRun(ctx, run.ID, tasks)
	if err != nil {
		return run, nil, err
	}
	if !ok {
		return run, nil, fmt.Errorf("start run %d: it no longer awaits approval: %w", run.ID, ErrWrongState)
	}
	return r, stored, s.enqueue(ctx, r, stored, true)
}

// tasks resolves the spec's targets into the run's tasks, leaving out the
// repositories excluded from the campaign (/campaign skip).
func (s *Starter) tasks(ctx context.Context, in StartInput) ([]store.NewTask, error) {
	targets, err := s.targets.Resolve(ctx, in.InstallationID, in.Spec.Targets)
	if err != nil {
		return nil, fmt.Errorf("resolve targets of %s v%d: %w", in.Spec.Name, in.Version.Version, err)
	}
	excluded, err := s.store.Exclusions(ctx, in.CampaignID)
	if err != nil {
		return nil, err
	}
	kept := targets[:0:0]
	for _, t := range targets {
		if !excluded[strings.ToLower(t.FullName)] {
			kept = append(kept, t)
		}
	}
	sizes := in.Spec.Rollout.WaveSizes(len(kept))
	tasks := make([]store.NewTask, len(kept))
	for i, t := range kept {
		tasks[i] = store.NewTask{
			Repository: t.FullName, RepositoryID: t.ID, Wave: waveOf(i, sizes),
			DedupeKey:  DedupeKey(in.CampaignID, t.FullName, in.Version.Version, "execute", ""),
			BaseBranch: t.DefaultBranch, BaseSHA: t.HeadSHA,
		}
	}
	return tasks, nil
}

// enqueue queues a run's queued tasks (later waves wait in pending) and
// schedules its dashboard.
func (s *Starter) enqueue(ctx context.Context, run store.Run, stored []store.RepoTask, created bool) error {
	enqueued := 0
	for _, t := range stored {
		if t.State != store.TaskQueued {
			continue
		}
		ok, err := s.queue.EnqueueExecute(ctx, t.ID.String(), t.DedupeKey)
		if err != nil {
			// The rows are the truth: the sweeper enqueues what this missed.
			return fmt.Errorf("enqueue tasks of run %d: %w", run.ID, err)
		}
		if ok {
			enqueued++
		}
	}
	if s.progress != nil {
		if err := s.progress.RequestUpdate(ctx, run.ID); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not schedule the first dashboard")
		}
	}
	zerolog.Ctx(ctx).Info().Int64("run_id", run.ID).Bool("new_run", created).Int("tasks", len(stored)).Int("enqueued", enqueued).
		Msg("run started")
	return nil
}

// Await records a run of a version that is not approved yet: it waits in
// awaiting_approval with no tasks, and its dashboard shows how to approve.
func (s *Starter) Await(ctx context.Context, in StartInput) (store.Run, error) {
	run, _, created, err := s.store.CreateRun(ctx, store.Run{
		CampaignID: in.CampaignID, SpecVersionID: in.Version.ID, State: store.RunAwaitingApproval,
		InstallationID: in.InstallationID, ControlSHA: in.ControlSHA,
	}, nil)
	if err != nil {
		return run, err
	}
	if created && s.progress != nil {
		if err := s.progress.RequestUpdate(ctx, run.ID); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not schedule the dashboard")
		}
	}
	zerolog.Ctx(ctx).Info().Int64("run_id", run.ID).Str("campaign", in.Spec.Name).Int("version", in.Version.Version).
		Msg("run awaits approval: this content was not approved on its pull request")
	return run, nil
}

// waveOf returns the wave index of the i-th target given cumulative wave sizes.
func waveOf(i int, cumulative []int) int {
	for w, n := range cumulative {
		if i < n {
			return w
		}
	}
	return max(len(cumulative)-1, 0)
}
