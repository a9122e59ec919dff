package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/installations"
)

// InstallationRepositories keeps an installation's repository list current
// when repositories are added to or removed from it.
type InstallationRepositories struct {
	githubapp.ClientCreator
	Service *installations.Service
}

// Handles implements githubapp.EventHandler.
func (*InstallationRepositories) Handles() []string { return []string{"installation_repositories"} }

// Handle re-lists the installation's repositories from GitHub: the delta in
// the payload may be stale when deliveries arrive out of order.
func (h *InstallationRepositories) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.InstallationRepositoriesEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decode installation_repositories event: %w", err)
	}
	id := githubapp.GetInstallationIDFromEvent(&ev)
	if id == 0 {
		return fmt.Errorf("installation_repositories event without installation id")
	}
	logger := zerolog.Ctx(ctx).With().Int64(githubapp.LogKeyInstallationID, id).
		Int("added", len(ev.RepositoriesAdded)).Int("removed", len(ev.RepositoriesRemoved)).Logger()
	return syncInstallation(logger.WithContext(ctx), h.ClientCreator, h.Service, id)
}
