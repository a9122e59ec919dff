package app

import (
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
	"github.com/campaignbot/campaignbot/campaigns/installations"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/selection"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/events"
	"github.com/campaignbot/campaignbot/store"
)

// eventHandlers builds the webhook handlers with their domain services.
// The server uses them only to know which events to store; the worker runs them.
// starter and control are nil in the server, which never runs handlers;
// with adjusts the dependencies (the worker adds the tracker).
func eventHandlers(cfg config.Config, cc githubapp.ClientCreator, st *store.Store, targets events.Targets, starter *orchestrator.Starter, control *orchestrator.Control, with ...func(*events.Deps)) []githubapp.EventHandler {
	deps := events.Deps{
		Installations:     installations.NewService(st),
		Control:           events.ControlRepo{FullName: cfg.Campaign.ControlRepo, SpecPath: cfg.Campaign.SpecPath},
		Syncer:            orchestrator.NewSyncer(st),
		Planner:           orchestrator.NewPlanner(targets),
		Starter:           starter,
		RunControl:        control,
		Approvals:         st,
		Policy:            chatops.Policy{AllowSelfApproval: cfg.Campaign.AllowSelfApproval, Admins: cfg.Campaign.Admins},
		RequiredApprovals: cfg.Campaign.RequiredApprovals,
		ChatOps:           st,
	}
	for _, w := range with {
		w(&deps)
	}
	return events.All(cc, deps)
}

// newTargets builds target selection with its PostgreSQL cache.
func newTargets(cfg config.Config, cc githubapp.ClientCreator, st *store.Store) events.Targets {
	return events.Targets{ClientCreator: cc, Selection: selection.New(st, selection.WithTTL(cfg.Campaign.SelectionTTL))}
}
