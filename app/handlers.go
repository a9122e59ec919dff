package app

import (
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/installations"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/events"
	"github.com/campaignbot/campaignbot/store"
)

// eventHandlers builds the webhook handlers with their domain services.
// The server uses them only to know which events to store; the worker runs them.
func eventHandlers(cfg config.Config, cc githubapp.ClientCreator, st *store.Store) []githubapp.EventHandler {
	return events.All(cc, events.Deps{
		Installations: installations.NewService(st),
		Control:       events.ControlRepo{FullName: cfg.Campaign.ControlRepo, SpecPath: cfg.Campaign.SpecPath},
		Syncer:        orchestrator.NewSyncer(st),
		Planner:       orchestrator.NewPlanner(nil),
	})
}
