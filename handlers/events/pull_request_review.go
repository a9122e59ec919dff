package events

import (
	"context"

	"github.com/google/go-github/v74/github"
)

// PullRequestReview re-reads a campaign pull request when it is reviewed:
// the payload has the one review, not the review decision.
type PullRequestReview struct {
	Tracker Tracker
}

// Handles implements githubapp.EventHandler.
func (*PullRequestReview) Handles() []string { return []string{"pull_request_review"} }

// Handle implements githubapp.EventHandler.
func (h *PullRequestReview) Handle(ctx context.Context, _, _ string, payload []byte) error {
	ev, _, err := decodeInstalled[github.PullRequestReviewEvent](payload, "pull_request_review")
	if err != nil || h.Tracker == nil {
		return err
	}
	switch ev.GetAction() {
	case "submitted", "dismissed", "edited":
	default:
		return nil
	}
	return h.Tracker.Refresh(ctx, ev.GetRepo().GetFullName(), ev.GetPullRequest().GetNumber())
}
