package events

import (
	"context"

	"github.com/google/go-github/v74/github"
)

// CheckSuite re-reads the campaign pull requests whose head a completed
// check suite ran on (their CI state).
type CheckSuite struct {
	Tracker Tracker
}

// Handles implements githubapp.EventHandler.
func (*CheckSuite) Handles() []string { return []string{"check_suite"} }

// Handle implements githubapp.EventHandler. Only completed suites change
// the CI state worth a request; requested/rerequested ones mean pending,
// which the next completion or the sweep records.
func (h *CheckSuite) Handle(ctx context.Context, _, _ string, payload []byte) error {
	ev, _, err := decodeInstalled[github.CheckSuiteEvent](payload, "check_suite")
	if err != nil || h.Tracker == nil || ev.GetAction() != "completed" {
		return err
	}
	return h.Tracker.HeadStatusChanged(ctx, ev.GetRepo().GetFullName(), ev.GetCheckSuite().GetHeadSHA())
}
