package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
)

// Push syncs campaigns when the control repository's default branch
// changes. Pushes to other branches and repositories are ignored here.
type Push struct {
	githubapp.ClientCreator
	Control ControlRepo
	Syncer  *orchestrator.Syncer
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
	res, _, err := h.Syncer.Sync(ctx, snap, ev.GetSender().GetLogin())
	if err != nil {
		return err
	}
	logger.Info().Str("commit", snap.Commit).Strs("created", res.Created).Int("new_versions", len(res.NewVersions)).
		Strs("closed", res.Closed).Int("unchanged", res.Unchanged).Msg("control repository synced")
	return nil
}
