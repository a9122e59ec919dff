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
	// Starter starts runs of new versions that need no approval; nil
	// leaves starting to the approval flow.
	Starter *orchestrator.Starter
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
		return nil
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

// startRuns starts a run for every new spec version whose spec needs no
// approval (rollout.approval: none). Versions needing approval wait for
// /campaign approve.
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
		if !ok || p.Spec.Rollout.Approval != spec.ApprovalNone {
			continue
		}
		if _, _, err := h.Starter.Start(ctx, orchestrator.StartInput{
			CampaignID: v.CampaignID, Version: v, Spec: p.Spec, InstallationID: installationID, ControlSHA: commit,
		}); err != nil {
			return fmt.Errorf("start run of %s version %d: %w", p.Spec.Name, v.Version, err)
		}
	}
	return nil
}
