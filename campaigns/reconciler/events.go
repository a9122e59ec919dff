package reconciler

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// PullRequestEvent is a pull_request webhook on a target repository.
type PullRequestEvent struct {
	InstallationID int64
	Repository     string
	Number         int
	Action         string
	State          string // open | closed
	Merged         bool
	Draft          bool
	HeadSHA        string
	// Mergeable is the payload's mergeable (nil: GitHub had not computed it).
	Mergeable *bool
	UpdatedAt time.Time
	Sender    string
}

// PullRequestEvent applies a pull_request delivery to the changesets of
// that pull request. A pull request that is not a campaign's costs one
// database read and no GitHub request.
func (r *Reconciler) PullRequestEvent(ctx context.Context, ev PullRequestEvent) error {
	sets, err := r.store.ChangesetsByPR(ctx, ev.Repository, ev.Number)
	if err != nil || len(sets) == 0 {
		return err
	}
	u := store.PRUpdate{HeadSHA: ev.HeadSHA, UpdatedAt: ev.UpdatedAt}
	switch {
	case ev.State == "closed" && ev.Merged:
		u.State, u.ClosedBy = stateMerged, ev.Sender
	case ev.State == "closed":
		u.State, u.ClosedBy = stateClosed, ev.Sender
	case ev.Draft:
		u.State = "draft"
	default:
		u.State = "open"
	}
	if ev.Mergeable != nil {
		m := "conflicting"
		if *ev.Mergeable {
			m = "mergeable"
		}
		u.Mergeable = &m
	}
	var errs []error
	for _, cs := range sets {
		// A head that is not the app's last push may be a person's commit,
		// or an older delivery of the app's own push: only GitHub's current
		// answer can tell, so read it.
		if u.State == "open" || u.State == "draft" {
			if ev.HeadSHA != "" && cs.LastPushedSHA != "" && ev.HeadSHA != cs.LastPushedSHA && cs.HumanEditedSHA == "" && cs.Task.State == statePublished {
				errs = append(errs, r.refresh(ctx, []store.Changeset{cs}, false))
				continue
			}
		}
		errs = append(errs, r.apply(ctx, cs, u, false))
	}
	return errors.Join(errs...)
}

// Refresh re-reads one pull request from GitHub (a review was submitted:
// the payload does not carry the review decision).
func (r *Reconciler) Refresh(ctx context.Context, repo string, number int) error {
	sets, err := r.store.ChangesetsByPR(ctx, repo, number)
	if err != nil || len(sets) == 0 {
		return err
	}
	return r.refresh(ctx, sets, false)
}

// HeadStatusChanged re-reads the campaign pull requests whose head is sha
// (a check suite completed or a commit status was set). Commits that are
// no campaign pull request's head cost no GitHub request.
func (r *Reconciler) HeadStatusChanged(ctx context.Context, repo, sha string) error {
	sets, err := r.store.ChangesetsByHead(ctx, repo, sha)
	if err != nil || len(sets) == 0 {
		return err
	}
	return r.refresh(ctx, sets, false)
}

// refresh reads the changesets' pull requests (one request for up to a
// batch) and applies them; a pull request GitHub no longer shows is closed.
func (r *Reconciler) refresh(ctx context.Context, sets []store.Changeset, withMergeable bool) error {
	if len(sets) == 0 {
		return nil
	}
	byInst := map[int64][]store.Changeset{}
	for _, cs := range sets {
		if cs.Task.PRNodeID == "" {
			continue
		}
		byInst[cs.InstallationID] = append(byInst[cs.InstallationID], cs)
	}
	var errs []error
	for inst, list := range byInst {
		for start := 0; start < len(list); {
			ids, group := nextBatch(list[start:], r.cfg.Batch)
			start += group
			prs, err := r.read(ctx, inst, ids, withMergeable)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			byID := map[string]*PullRequest{}
			for i, id := range ids {
				byID[id] = prs[i]
			}
			for _, cs := range list[start-group : start] {
				errs = append(errs, r.applyRead(ctx, cs, byID[cs.Task.PRNodeID]))
			}
		}
	}
	return errors.Join(errs...)
}

// nextBatch takes changesets from the front of list until max distinct
// node ids are collected; it returns the ids and how many changesets they
// cover (several tasks may share one pull request).
func nextBatch(list []store.Changeset, max int) ([]string, int) {
	seen := map[string]bool{}
	var ids []string
	n := 0
	for _, cs := range list {
		if !seen[cs.Task.PRNodeID] {
			if len(ids) == max {
				break
			}
			seen[cs.Task.PRNodeID] = true
			ids = append(ids, cs.Task.PRNodeID)
		}
		n++
	}
	return ids, n
}

// read asks GitHub for pull requests, retrying server errors with backoff.
func (r *Reconciler) read(ctx context.Context, inst int64, ids []string, withMergeable bool) ([]*PullRequest, error) {
	wait := r.cfg.RetryWait
	var err error
	for attempt := 0; attempt <= r.cfg.Retries; attempt++ {
		if attempt > 0 {
			zerolog.Ctx(ctx).Warn().Err(err).Int("attempt", attempt).Int("pull_requests", len(ids)).Msg("reading pull requests failed; retrying")
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		var prs []*PullRequest
		prs, err = r.forge.PullRequests(ctx, inst, ids, withMergeable)
		if err == nil {
			if len(prs) != len(ids) {
				return nil, errors.New("GitHub answered " + strconv.Itoa(len(prs)) + " pull requests for " + strconv.Itoa(len(ids)) + " ids")
			}
			return prs, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, err
}

// applyRead applies what GitHub answered for one changeset.
func (r *Reconciler) applyRead(ctx context.Context, cs store.Changeset, pr *PullRequest) error {
	if pr == nil {
		// Deleted, transferred, or out of the installation's reach: it will
		// not be merged by this campaign.
		zerolog.Ctx(ctx).Warn().Str("repository", cs.Task.Repository).Int("pr", cs.Task.PRNumber).
			Msg("campaign pull request no longer visible on GitHub; recorded as closed")
		return r.apply(ctx, cs, store.PRUpdate{State: stateClosed, ClosedBy: "(gone from GitHub)"}, true)
	}
	if err := r.apply(ctx, cs, update(pr, true), true); err != nil {
		return err
	}
	// A base that moved without a push webhook reaching us (lost) gets
	// the same debounced drift check.
	if pr.State == "OPEN" && pr.BaseHeadSHA != "" && pr.BaseHeadSHA != cs.Task.BaseSHA && pr.BaseHeadSHA != cs.BaseHeadSHA &&
		pr.BaseHeadSHA != cs.DriftHandledSHA && pr.BaseBranch == cs.Task.BaseBranch {
		return r.BaseMoved(ctx, cs.Task.Repository, pr.BaseBranch, pr.BaseHeadSHA)
	}
	return nil
}
