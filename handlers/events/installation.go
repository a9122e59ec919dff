package events

import (
	"context"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/installations"
)

// Installation keeps the installations table current when the App is
// installed, uninstalled, suspended or given new permissions.
type Installation struct {
	githubapp.ClientCreator
	Service *installations.Service
}

// Handles implements githubapp.EventHandler.
func (*Installation) Handles() []string { return []string{"installation"} }

// Handle re-reads the installation from GitHub (or records its deletion).
func (h *Installation) Handle(ctx context.Context, _, _ string, payload []byte) error {
	ev, id, err := decodeInstalled[github.InstallationEvent](payload, "installation")
	if err != nil {
		return err
	}
	logger := zerolog.Ctx(ctx).With().Int64(githubapp.LogKeyInstallationID, id).Logger()
	ctx = logger.WithContext(ctx)
	if ev.GetAction() == "deleted" {
		logger.Info().Msg("app uninstalled")
		return h.Service.Deleted(ctx, id)
	}
	return syncInstallation(ctx, h.ClientCreator, h.Service, id)
}

func syncInstallation(ctx context.Context, cc githubapp.ClientCreator, svc *installations.Service, id int64) error {
	forge, err := newForge(cc, id)
	if err != nil {
		return err
	}
	in, n, err := svc.Sync(ctx, forge, id)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("account", in.AccountLogin).Int("repositories", n).Bool("suspended", in.SuspendedAt != nil).
		Msg("installation synced")
	return nil
}
