package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// Push syncs campaigns when the control repository's default branch
// changes. Pushes to other branches and repositories are ignored here.
type Push struct {
	githubapp.ClientCreator
	Control ControlRepo
	Syncer  *orchestrator.Syncer
	// Starter starts runs of new versions that are approved (or need no
	// approval); nil leaves runs unstarted (the server's copy).
	Starter   *orchestrator.Starter
	Approvals ApprovalStore
	Required  int
	// Tracker hears of pushes to other repositories' branches (a campaign
	// pull request's base moved); nil: not tracked.
	Tracker Tracker
}

// Handles implements githubapp.EventHandler.
func (*Push) Handles() []string { return []string{"push"} }

// Handle re-reads the spec folder at the branch head through GitHub (never
// trusting the payload's file list) and syncs campaigns and versions.
func (h *Push) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.PushEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decode push event: %w", err)
	}
	repo := ev.GetRepo()
	if !h.Control.Is(repo.GetFullName()) {
		return trackPush(ctx, h.Tracker, &ev)
	}
	branch, isBranch := strings.CutPrefix(ev.GetRef(), "refs/heads/")
	if !isBranch || branch != repo.GetDefaultBranch() || ev.GetDeleted() {
		return nil
	}
	id := githubapp.GetInstallationIDFromEvent(&ev)
	ctx, logger := githubapp.PrepareRepoContext(ctx, id, &github.Repository{Name: repo.Name, Owner: &github.User{Login: repo.Owner.Login}})
	gql, err := h.NewInstallationV4Client(id)
	if err != nil {
		return fmt.Errorf("create GraphQL client for installation %d: %w", id, err)
	}
	snap, err := fetchBranchSnapshot(ctx, gql, h.Control, branch, ev.GetAfter())
	if err != nil {
		return err
	}
	res, parsed, err := h.Syncer.Sync(ctx, snap, ev.GetSender().GetLogin())
	if err != nil {
		return err
	}
	if err := h.startRuns(ctx, id, snap.Commit, res, parsed); err != nil {
		return err
	}
	logger.Info().Str("commit", snap.Commit).Strs("created", res.Created).Int("new_versions", len(res.NewVersions)).
		Strs("closed", res.Closed).Int("unchanged", res.Unchanged).Msg("control repository synced")
	return nil
}

// startRuns starts a run for every new spec version whose exact content
// was approved on its pull request (or that needs no approval); any other
// version gets a run waiting in awaiting_approval, whose dashboard says
// how to approve it.
func (h *Push) startRuns(ctx context.Context, installationID int64, commit string, res store.SpecSyncResult, parsed []orchestrator.ParsedSpec) error {
	if h.Starter == nil {
		return nil
	}
	byHash := map[string]orchestrator.ParsedSpec{}
	for _, p := range parsed {
		if p.Valid() {
			byHash[p.Spec.ContentHash()] = p
		}
	}
	for _, v := range res.NewVersions {
		p, ok := byHash[v.ContentHash]
		if !ok {
			continue
		}
		in := orchestrator.StartInput{CampaignID: v.CampaignID, Version: v, Spec: p.Spec, InstallationID: installationID, ControlSHA: commit}
		approved := p.Spec.Rollout.Approval == spec.ApprovalNone
		if !approved && h.Approvals != nil {
			approvers, err := h.Approvals.Approvers(ctx, h.Control.FullName, p.Spec.Name, v.ContentHash)
			if err != nil {
				return err
			}
			approved = len(approvers) >= max(h.Required, 1)
		}
		var err error
		if approved {
			_, _, err = h.Starter.Start(ctx, in)
		} else {
			_, err = h.Starter.Await(ctx, in)
		}
		if err != nil {
			return fmt.Errorf("start run of %s version %d: %w", p.Spec.Name, v.Version, err)
		}
	}
	return nil
}
