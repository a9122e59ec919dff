package events

import (
	"context"

	"github.com/google/go-github/v74/github"
)

// Status re-reads the campaign pull requests whose head a commit status
// was set on (their CI state).
type Status struct {
	Tracker Tracker
}

// Handles implements githubapp.EventHandler.
func (*Status) Handles() []string { return []string{"status"} }

// Handle implements githubapp.EventHandler.
func (h *Status) Handle(ctx context.Context, _, _ string, payload []byte) error {
	ev, _, err := decodeInstalled[github.StatusEvent](payload, "status")
	if err != nil || h.Tracker == nil {
		return err
	}
	return h.Tracker.HeadStatusChanged(ctx, ev.GetRepo().GetFullName(), ev.GetSHA())
}
