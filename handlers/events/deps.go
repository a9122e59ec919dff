package events

import (
	"github.com/campaignbot/campaignbot/campaigns/installations"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
)

// Deps are the domain services and settings the handlers use.
type Deps struct {
	Installations *installations.Service
	Control       ControlRepo
	Syncer        *orchestrator.Syncer
	Planner       *orchestrator.Planner
	Starter       *orchestrator.Starter // nil: runs start only through approvals
}
