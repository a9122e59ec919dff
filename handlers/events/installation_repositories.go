package events

import (
	"context"

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
	ev, id, err := decodeInstalled[github.InstallationRepositoriesEvent](payload, "installation_repositories")
	if err != nil {
		return err
	}
	logger := zerolog.Ctx(ctx).With().Int64(githubapp.LogKeyInstallationID, id).
		Int("added", len(ev.RepositoriesAdded)).Int("removed", len(ev.RepositoriesRemoved)).Logger()
	return syncInstallation(logger.WithContext(ctx), h.ClientCreator, h.Service, id)
}
