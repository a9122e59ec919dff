package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// Task states the reconciler sets (DESIGN.md §5).
const (
	stateMerged    = "merged"
	stateClosed    = "closed"
	statePublished = store.TaskPublished
)

// PullRequest is what GitHub says about a campaign pull request now.
type PullRequest struct {
	NodeID     string
	Repository string // owner/name
	Number     int
	State      string // OPEN | CLOSED | MERGED
	Draft      bool
	HeadSHA    string
	BaseBranch string
	// BaseHeadSHA is the base branch's current head ("" when unknown).
	BaseHeadSHA string
	// BranchDeleted: the pull request's head branch is gone.
	BranchDeleted  bool
	ReviewDecision string // APPROVED | CHANGES_REQUESTED | REVIEW_REQUIRED | ""
	// Mergeable is MERGEABLE | CONFLICTING | UNKNOWN, or "" when not asked.
	Mergeable string
	// CI is the head commit's status rollup: SUCCESS | FAILURE | ERROR |
	// PENDING | EXPECTED, or "" without checks or statuses.
	CI        string
	MergedBy  string
	UpdatedAt time.Time
}

// Forge is the GitHub the reconciler needs.
type Forge interface {
	// PullRequests reads pull requests by node id, answering in the same
	// order; nil for one GitHub no longer shows (deleted, transferred,
	// access removed). withMergeable asks for mergeability too.
	PullRequests(ctx context.Context, installationID int64, nodeIDs []string, withMergeable bool) ([]*PullRequest, error)
	// Comment adds a comment to a pull request.
	Comment(ctx context.Context, installationID int64, repo string, number int, body string) error
}

// Store is what the reconciler reads and writes.
type Store interface {
	Changeset(ctx context.Context, id uuid.UUID) (store.Changeset, error)
	ChangesetsByPR(ctx context.Context, repo string, number int) ([]store.Changeset, error)
	ChangesetsByHead(ctx context.Context, repo, sha string) ([]store.Changeset, error)
	OpenChangesets(ctx context.Context) ([]store.Changeset, error)
	RunChangesets(ctx context.Context, runID int64) ([]store.Changeset, error)
	ApplyPRUpdate(ctx context.Context, id uuid.UUID, u store.PRUpdate) (store.PRApplied, error)
	MarkHumanEdit(ctx context.Context, id uuid.UUID, sha string) (bool, error)
	RecordBaseMove(ctx context.Context, repo, branch, sha string) ([]store.Changeset, error)
	ClaimDrift(ctx context.Context, id uuid.UUID, sha string, rebase bool) (bool, error)
	RequeueForRebase(ctx context.Context, id uuid.UUID, baseSHA, dedupeKey string) (store.RepoTask, bool, error)
	RequeueForOverwrite(ctx context.Context, id uuid.UUID) (store.RepoTask, bool, error)
	LoadTaskContext(ctx context.Context, t store.RepoTask) (store.TaskContext, error)
	Audit(ctx context.Context, e store.AuditEntry) error
}

// OpenPRs is the publisher's count of each campaign's open pull requests
// (rollout.maxOpenPRs).
type OpenPRs interface {
	PullRequestClosed(ctx context.Context, campaignID int64, repo string) error
	SyncOpenPullRequests(ctx context.Context, campaignID int64, repos []string) error
}

// Progress hears that a run's changesets moved (the dashboard coalesces).
type Progress interface {
	RequestUpdate(ctx context.Context, runID int64) error
}

// Rebaser re-executes a task's steps on its base branch's current head
// (orchestrator.Control.Rebase).
type Rebaser interface {
	Rebase(ctx context.Context, taskID uuid.UUID, actor string) error
}

// Queue schedules the reconciler's own work.
type Queue interface {
	// EnqueueDrift schedules a drift check of a task in `in`, under id.
	EnqueueDrift(ctx context.Context, taskID, id string, in time.Duration) (bool, error)
	// EnqueuePublish queues publishing a task's stored change (overwrite).
	EnqueuePublish(ctx context.Context, taskID, executeKey, patchHash string, in time.Duration) (bool, error)
}

// Config tunes the reconciler.
type Config struct {
	// Debounce is the quiet period after a base-branch push before drift is
	// checked: pushes within it cause one check.
	Debounce time.Duration
	// Batch is how many pull requests one sweep request reads (GitHub's
	// nodes(ids:) takes at most 100).
	Batch int
	// Retries of a sweep request that failed with a server error.
	Retries int
	// RetryWait is the first wait before such a retry (doubled each time).
	RetryWait time.Duration
	// Actor names the app in what it records.
	Actor string
}

func (c Config) withDefaults() Config {
	if c.Debounce <= 0 {
		c.Debounce = 2 * time.Minute
	}
	if c.Batch <= 0 || c.Batch > 100 {
		c.Batch = 100
	}
	if c.Retries <= 0 {
		c.Retries = 3
	}
	if c.RetryWait <= 0 {
		c.RetryWait = 500 * time.Millisecond
	}
	if c.Actor == "" {
		c.Actor = "campaignbot"
	}
	return c
}

// Reconciler tracks campaign pull requests.
type Reconciler struct {
	store    Store
	forge    Forge
	openPRs  OpenPRs
	progress Progress
	rebaser  Rebaser
	queue    Queue
	hooks    []Hook
	cfg      Config
	now      func() time.Time
}

// Hook hears of every applied change of a changeset (waves, verification).
type Hook interface {
	ChangesetChanged(ctx context.Context, cs store.Changeset) error
}

// New returns a Reconciler. openPRs, progress and rebaser may be nil
// (rebaser nil: drift re-executes through the queue itself).
func New(st Store, forge Forge, q Queue, openPRs OpenPRs, progress Progress, rebaser Rebaser, cfg Config) *Reconciler {
	r := &Reconciler{store: st, forge: forge, queue: q, openPRs: openPRs, progress: progress, rebaser: rebaser, cfg: cfg.withDefaults(), now: time.Now}
	return r
}

// AddHook adds a listener for applied changes.
func (r *Reconciler) AddHook(h Hook) { r.hooks = append(r.hooks, h) }

// WaitError says the work is not due yet: try again at Until.
type WaitError struct {
	Until  time.Time
	Reason string
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("not due until %s: %s", e.Until.UTC().Format(time.RFC3339), e.Reason)
}

// update turns GitHub's view of a pull request into a store update.
func update(pr *PullRequest, withCI bool) store.PRUpdate {
	u := store.PRUpdate{HeadSHA: pr.HeadSHA, UpdatedAt: pr.UpdatedAt, ClosedBy: pr.MergedBy}
	switch {
	case pr.State == "MERGED":
		u.State = stateMerged
	case pr.State == "CLOSED":
		u.State = stateClosed
	case pr.Draft:
		u.State = "draft"
	default:
		u.State = "open"
	}
	rd := strings.ToLower(pr.ReviewDecision)
	u.ReviewDecision = &rd
	if withCI {
		ci := ciState(pr.CI)
		u.CIState = &ci
		deleted := pr.BranchDeleted
		u.BranchDeleted = &deleted
	}
	if pr.Mergeable != "" {
		m := strings.ToLower(pr.Mergeable)
		u.Mergeable = &m
	}
	return u
}

func ciState(rollup string) string {
	switch rollup {
	case "SUCCESS":
		return store.CIPassing
	case "FAILURE", "ERROR":
		return store.CIFailing
	case "PENDING", "EXPECTED":
		return store.CIPending
	}
	return ""
}

// apply records an update of one changeset and reacts to what changed.
// fresh says the update was read from GitHub just now (not a webhook
// payload that may be stale), so its head may be judged for human edits.
func (r *Reconciler) apply(ctx context.Context, cs store.Changeset, u store.PRUpdate, fresh bool) error {
	res, err := r.store.ApplyPRUpdate(ctx, cs.Task.ID, u)
	if err != nil {
		return err
	}
	log := zerolog.Ctx(ctx).With().Str("repository", cs.Task.Repository).Int("pr", cs.Task.PRNumber).Str("task_id", cs.Task.ID.String()).Logger()
	if !res.Applied {
		log.Debug().Time("event_updated_at", u.UpdatedAt).Msg("older than the recorded state of the pull request; ignored")
		return nil
	}
	var errs []error
	if res.OldState != res.NewState && (res.NewState == stateMerged || res.NewState == stateClosed) {
		log.Info().Str("state", res.NewState).Str("by", u.ClosedBy).Msg("campaign pull request finished")
		if r.openPRs != nil {
			if err := r.openPRs.PullRequestClosed(ctx, cs.CampaignID, cs.Task.Repository); err != nil {
				errs = append(errs, fmt.Errorf("free the open-PR slot of %s: %w", cs.Task.Repository, err))
			}
		}
	}
	changed := res.Changed
	if fresh && res.NewState == statePublished && (u.State == "open" || u.State == "draft") && u.HeadSHA != "" &&
		cs.LastPushedSHA != "" && u.HeadSHA != cs.LastPushedSHA && cs.HumanEditedSHA == "" {
		edited, err := r.humanEdit(ctx, cs, u.HeadSHA)
		if err != nil {
			errs = append(errs, err)
		}
		changed = changed || edited
	}
	if changed {
		r.requestUpdate(ctx, cs.Task.RunID)
		if len(r.hooks) > 0 {
			cur, err := r.store.Changeset(ctx, cs.Task.ID)
			if err != nil {
				errs = append(errs, err)
			} else {
				for _, h := range r.hooks {
					if err := h.ChangesetChanged(ctx, cur); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) requestUpdate(ctx context.Context, runID int64) {
	if r.progress == nil {
		return
	}
	if err := r.progress.RequestUpdate(context.WithoutCancel(ctx), runID); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Int64("run_id", runID).Msg("could not schedule a dashboard update")
	}
}

// policy reads the drift policy of a changeset's spec version.
func (r *Reconciler) policy(ctx context.Context, cs store.Changeset) (spec.Drift, store.TaskContext, error) {
	tc, err := r.store.LoadTaskContext(ctx, cs.Task)
	if err != nil {
		return spec.Drift{}, tc, err
	}
	s, diags := spec.Parse("spec.yaml", []byte(tc.SpecYAML))
	if s == nil || diags.HasErrors() {
		return spec.Drift{}, tc, fmt.Errorf("spec version %d of %s no longer validates", tc.SpecVersion, tc.CampaignName)
	}
	return s.WithDefaults().Drift, tc, nil
}

// humanEdit handles a head commit the app did not push.
func (r *Reconciler) humanEdit(ctx context.Context, cs store.Changeset, head string) (bool, error) {
	drift, tc, err := r.policy(ctx, cs)
	if err != nil {
		return false, err
	}
	log := zerolog.Ctx(ctx).With().Str("repository", cs.Task.Repository).Int("pr", cs.Task.PRNumber).Str("head", head).Logger()
	if drift.HumanEdits == spec.HumanEditsOverwrite {
		t, ok, err := r.store.RequeueForOverwrite(ctx, cs.Task.ID)
		if err != nil || !ok {
			return false, err
		}
		log.Warn().Msg("a commit campaignbot did not make is on the campaign branch; overwriting it (drift.humanEdits: overwrite)")
		r.audit(ctx, cs, tc, "drift.human_edit", "commit "+short(head)+" was not made by the campaign; publishing the campaign's change over it (drift.humanEdits: overwrite)",
			map[string]any{"head": head, "policy": spec.HumanEditsOverwrite})
		if _, err := r.queue.EnqueuePublish(ctx, t.ID.String(), t.DedupeKey+":overwrite:"+head, t.PatchHash, 0); err != nil {
			return true, err
		}
		return true, nil
	}
	first, err := r.store.MarkHumanEdit(ctx, cs.Task.ID, head)
	if err != nil || !first {
		return false, err
	}
	log.Info().Msg("a person changed the campaign branch; automation stops for this pull request (drift.humanEdits: stop)")
	r.audit(ctx, cs, tc, "drift.human_edit", "commit "+short(head)+" was not made by the campaign; automation stopped for this pull request (drift.humanEdits: stop)",
		map[string]any{"head": head, "policy": spec.HumanEditsStop})
	body := fmt.Sprintf("campaignbot: commit %s on this branch was not made by campaign **%s**, so the campaign no longer updates "+
		"this pull request (`drift.humanEdits: stop`). It is yours now: merge or close it as you see fit.", short(head), tc.CampaignName)
	if err := r.forge.Comment(ctx, cs.InstallationID, cs.Task.Repository, cs.Task.PRNumber, body); err != nil {
		return true, fmt.Errorf("comment on %s#%d about the human edit: %w", cs.Task.Repository, cs.Task.PRNumber, err)
	}
	return true, nil
}

// audit records an action the reconciler took on its own on a pull
// request people work with (overwriting or rewriting its branch, stopping
// automation), so the audit log says why a branch changed. A failed write
// is logged: the action is done and must not be repeated for it.
func (r *Reconciler) audit(ctx context.Context, cs store.Changeset, tc store.TaskContext, action, reason string, details map[string]any) {
	details["campaign"] = tc.CampaignName
	details["run_id"] = cs.Task.RunID
	e := store.AuditEntry{Actor: r.cfg.Actor, Action: action, Target: fmt.Sprintf("%s#%d", cs.Task.Repository, cs.Task.PRNumber),
		Outcome: "accepted", Reason: reason, SourceURL: cs.Task.PRURL, Details: details}
	if err := r.store.Audit(ctx, e); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str("action", action).Str("target", e.Target).Msg("could not write the audit log")
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
