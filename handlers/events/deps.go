package events

import "github.com/campaignbot/campaignbot/campaigns/installations"

// Deps are the domain services the handlers call.
type Deps struct {
	Installations *installations.Service
}
