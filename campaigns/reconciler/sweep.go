package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// SweepResult says what one sweep did.
type SweepResult struct {
	Checked  int // changesets re-read
	Changed  int // changesets whose state moved
	Requests int // GitHub requests made (batches, retries included)
	Failed   int // changesets left for the next sweep after GitHub errors
}

// Sweep re-reads every open changeset from GitHub, 100 pull requests per
// request, and applies what webhooks missed. A batch GitHub keeps failing
// is left for the next sweep; the rest are still applied. Afterwards the
// publisher's count of open pull requests is rewritten from the database.
func (r *Reconciler) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	sets, err := r.store.OpenChangesets(ctx)
	if err != nil {
		return res, err
	}
	counter := &countingForge{Forge: r.forge}
	rr := *r
	rr.forge = counter
	before := map[string]string{}
	for _, cs := range sets {
		before[cs.Task.ID.String()] = cs.Task.State
	}
	var errs []error
	byInst := map[int64][]store.Changeset{}
	for _, cs := range sets {
		byInst[cs.InstallationID] = append(byInst[cs.InstallationID], cs)
	}
	for inst, list := range byInst {
		for start := 0; start < len(list); {
			ids, group := nextBatch(list[start:], r.cfg.Batch)
			batch := list[start : start+group]
			start += group
			prs, err := rr.read(ctx, inst, ids, false)
			if err != nil {
				res.Failed += len(batch)
				errs = append(errs, fmt.Errorf("sweep of installation %d: %w", inst, err))
				continue
			}
			byID := map[string]*PullRequest{}
			for i, id := range ids {
				byID[id] = prs[i]
			}
			for _, cs := range batch {
				res.Checked++
				if err := rr.applyRead(ctx, cs, byID[cs.Task.PRNodeID]); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	res.Requests = counter.n
	if err := r.syncOpen(ctx, sets); err != nil {
		errs = append(errs, err)
	}
	after, err := r.store.OpenChangesets(ctx)
	if err == nil {
		still := map[string]bool{}
		for _, cs := range after {
			still[cs.Task.ID.String()] = true
		}
		for id := range before {
			if !still[id] {
				res.Changed++
			}
		}
	}
	zerolog.Ctx(ctx).Info().Int("checked", res.Checked).Int("finished", res.Changed).Int("requests", res.Requests).Int("failed", res.Failed).
		Msg("changeset sweep done")
	return res, errors.Join(errs...)
}

// syncOpen rewrites the publisher's open pull requests of every campaign
// swept from the database's truth.
func (r *Reconciler) syncOpen(ctx context.Context, swept []store.Changeset) error {
	if r.openPRs == nil {
		return nil
	}
	campaigns := map[int64]bool{}
	for _, cs := range swept {
		campaigns[cs.CampaignID] = true
	}
	after, err := r.store.OpenChangesets(ctx)
	if err != nil {
		return err
	}
	open := map[int64]map[string]bool{}
	for _, cs := range after {
		if open[cs.CampaignID] == nil {
			open[cs.CampaignID] = map[string]bool{}
		}
		open[cs.CampaignID][strings.ToLower(cs.Task.Repository)] = true
	}
	var errs []error
	for id := range campaigns {
		repos := make([]string, 0, len(open[id]))
		for repo := range open[id] {
			repos = append(repos, repo)
		}
		if err := r.openPRs.SyncOpenPullRequests(ctx, id, repos); err != nil {
			errs = append(errs, fmt.Errorf("sync open pull requests of campaign %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// countingForge counts the requests of one sweep.
type countingForge struct {
	Forge
	n int
}

func (c *countingForge) PullRequests(ctx context.Context, inst int64, ids []string, withMergeable bool) ([]*PullRequest, error) {
	c.n++
	return c.Forge.PullRequests(ctx, inst, ids, withMergeable)
}
