package orchestrator

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

// PublishStore is what publishing reads and writes.
type PublishStore interface {
	ClaimPublish(ctx context.Context, id uuid.UUID, lease time.Duration) (store.RepoTask, bool, error)
	FinishPublish(ctx context.Context, id uuid.UUID, o store.PublishOutcome) error
	LoadTaskContext(ctx context.Context, t store.RepoTask) (store.TaskContext, error)
	RecordThrottle(ctx context.Context, runID int64, until time.Time, reason string) error
}

// Settler moves a run forward after one of its tasks settled (Completion).
type Settler interface {
	Settle(ctx context.Context, runID int64) error
}

// ResultReader reads an execution's result back.
type ResultReader interface {
	ReadResult(ctx context.Context, taskID uuid.UUID) (*runner.Result, error)
}

// PublishInput is one change to turn into a pull request.
type PublishInput struct {
	InstallationID int64
	CampaignID     int64
	CampaignName   string
	SpecVersion    int
	Spec           *spec.Spec
	Repository     string
	DefaultBranch  string
	Result         *runner.Result
	// Existing is the campaign's pull request as recorded, if any.
	Existing *PublishedPR
}

// PublishedPR is a campaign pull request.
type PublishedPR struct {
	Branch  string
	Number  int
	URL     string
	NodeID  string
	HeadSHA string
}

// Publisher opens or updates the pull request for one change.
type Publisher interface {
	Publish(ctx context.Context, in PublishInput) (PublishedPR, error)
}

// ThrottledError says publishing must wait until a budget returns.
type ThrottledError struct {
	Until  time.Time
	Reason string
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("publishing waits until %s: %s", e.Until.UTC().Format(time.RFC3339), e.Reason)
}

// KillSwitch reports whether publishing is frozen (config or database flag).
type KillSwitch interface {
	Frozen(ctx context.Context) (bool, string)
}

// FrozenRecheck is how often a publish held by the kill switch looks
// again: publishing resumes this long after an unfreeze at most.
const FrozenRecheck = 10 * time.Second

// Publishing turns patch_ready tasks into pull requests.
type Publishing struct {
	store    PublishStore
	results  ResultReader
	pub      Publisher
	kill     KillSwitch
	progress Progress
	settle   Settler
	lease    time.Duration
}

// SetSettler makes every publish outcome move its run forward (waves,
// failure-rate pause, completion).
func (p *Publishing) SetSettler(s Settler) { p.settle = s }

// NewPublishing returns the publishing service; kill and progress may be nil.
func NewPublishing(st PublishStore, results ResultReader, pub Publisher, kill KillSwitch, progress Progress, lease time.Duration) *Publishing {
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	return &Publishing{store: st, results: results, pub: pub, kill: kill, progress: progress, lease: lease}
}

// Publish publishes one task. It returns nil when done (or nothing to
// do), a *ThrottledError when it must wait, ErrLeased when another worker
// publishes it, an error wrapping ErrGaveUp when it failed for good, and
// any other error for a retry.
func (p *Publishing) Publish(ctx context.Context, taskID uuid.UUID) error {
	if p.kill != nil {
		if frozen, why := p.kill.Frozen(ctx); frozen {
			return &ThrottledError{Until: time.Now().Add(FrozenRecheck), Reason: "kill switch: " + why}
		}
	}
	task, ok, err := p.store.ClaimPublish(ctx, taskID, p.lease)
	if errors.Is(err, store.ErrTaskLeased) {
		return ErrLeased
	}
	if err != nil || !ok {
		return err
	}
	var out PublishedPR
	var pubErr error
	if task.SnoozedUntil != nil && task.PRNumber != 0 && task.SnoozedUntil.After(time.Now()) {
		// The target's maintainers asked for quiet: the update waits.
		pubErr = &ThrottledError{Until: *task.SnoozedUntil, Reason: "the pull request is snoozed by its maintainers"}
	} else {
		out, pubErr = p.publish(ctx, task)
	}
	o := store.PublishOutcome{State: store.TaskPublished, Branch: out.Branch, PRNumber: out.Number, PRURL: out.URL, PRNodeID: out.NodeID, HeadSHA: out.HeadSHA}
	var th *ThrottledError
	switch {
	case pubErr == nil:
	case errors.As(pubErr, &th):
		o = store.PublishOutcome{State: store.TaskPatchReady}
	case errors.Is(pubErr, ErrGaveUp):
		o = store.PublishOutcome{State: store.TaskFailed, Error: pubErr.Error()}
	default:
		o = store.PublishOutcome{State: store.TaskPatchReady, Error: pubErr.Error()}
	}
	bg := context.WithoutCancel(ctx)
	// What GitHub now holds is recorded even through a database blip (the
	// write is idempotent); otherwise the task would wait out its lease.
	if err := recordOutcome(bg, "the publish outcome", func(ctx context.Context) error { return p.store.FinishPublish(ctx, taskID, o) }); err != nil {
		return err
	}
	// The dashboard's throttle line: why publishing waits, until when.
	var until time.Time
	reason := ""
	if th != nil {
		until, reason = th.Until, th.Reason
	}
	if err := p.store.RecordThrottle(bg, task.RunID, until, reason); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not record the throttle for the dashboard")
	}
	if p.settle != nil && (o.State != store.TaskPatchReady) {
		if err := p.settle.Settle(bg, task.RunID); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not move the run forward; the next task outcome will")
		}
	}
	if p.progress != nil {
		if err := p.progress.RequestUpdate(bg, task.RunID); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not schedule a dashboard update")
		}
	}
	return pubErr
}

func (p *Publishing) publish(ctx context.Context, task store.RepoTask) (PublishedPR, error) {
	tc, err := p.store.LoadTaskContext(ctx, task)
	if err != nil {
		return PublishedPR{}, err
	}
	s, diags := spec.Parse("spec.yaml", []byte(tc.SpecYAML))
	if s == nil || diags.HasErrors() {
		return PublishedPR{}, fmt.Errorf("%w: spec version %d no longer validates", ErrGaveUp, tc.SpecVersion)
	}
	res, err := p.results.ReadResult(ctx, task.ID)
	if err != nil {
		return PublishedPR{}, fmt.Errorf("read the result of %s: %w", task.Repository, err)
	}
	in := PublishInput{InstallationID: tc.Run.InstallationID, CampaignID: tc.Run.CampaignID, CampaignName: tc.CampaignName,
		SpecVersion: tc.SpecVersion, Spec: s, Repository: task.Repository, DefaultBranch: task.BaseBranch, Result: res}
	if task.PRNumber != 0 {
		in.Existing = &PublishedPR{Branch: task.Branch, Number: task.PRNumber, URL: task.PRURL, NodeID: task.PRNodeID, HeadSHA: task.HeadSHA}
	}
	out, err := p.pub.Publish(ctx, in)
	if err == nil {
		zerolog.Ctx(ctx).Info().Str("repository", task.Repository).Int("pr", out.Number).Str("branch", out.Branch).Msg("published")
	}
	return out, err
}
