package publisher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v74/github"
)

// CloseInput names a campaign pull request to close with a comment
// (/campaign cancel, /campaign skip).
type CloseInput struct {
	InstallationID int64
	CampaignID     int64
	Repository     string // owner/name
	Number         int
	Comment        string
}

// CloseOutcome says what closing found.
type CloseOutcome string

// Close outcomes.
const (
	Closed        CloseOutcome = "closed"         // the PR was open and is now closed
	AlreadyClosed CloseOutcome = "already_closed" // someone closed it before
	AlreadyMerged CloseOutcome = "already_merged" // it was merged: nothing to close
)

// Close comments on and closes a campaign pull request, under the same
// installation budget as publishing (a comment and a state change are two
// content-creating requests). A PR already closed or merged is not
// touched. Errors are those of Publish: *Throttled, *Permanent, others
// retryable.
func (p *Publisher) Close(ctx context.Context, gh Clients, in CloseInput) (CloseOutcome, error) {
	ctx = MarkCharged(ctx) // its writes are charged before they are made
	owner, name, ok := strings.Cut(in.Repository, "/")
	if !ok || in.Number <= 0 || gh == nil {
		return "", &Permanent{Reason: ReasonInvalidInput, Detail: fmt.Sprintf("close %q #%d", in.Repository, in.Number)}
	}
	rest := gh.REST()
	pr, resp, err := rest.PullRequests.Get(ctx, owner, name, in.Number)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return "", &Permanent{Reason: ReasonRepoNotFound, Detail: fmt.Sprintf("%s#%d", in.Repository, in.Number)}
	}
	if err := classifyREST("read pull request", resp, err); err != nil {
		return "", p.settle(ctx, in.InstallationID, err)
	}
	switch {
	case pr.GetMerged():
		return AlreadyMerged, nil
	case pr.GetState() == "closed":
		return AlreadyClosed, nil
	}
	units := 1
	if in.Comment != "" {
		units = 2
	}
	r, err := p.thr.acquire(ctx, charge{installation: in.InstallationID, campaign: in.CampaignID, repo: strings.ToLower(in.Repository), units: units})
	if err != nil {
		return "", err
	}
	if in.Comment != "" {
		_, resp, err := rest.Issues.CreateComment(ctx, owner, name, in.Number, &github.IssueComment{Body: github.Ptr(in.Comment)})
		if err := classifyREST("comment before closing", resp, err); err != nil {
			_ = p.thr.refund(ctx, r, 1)
			return "", p.settle(ctx, in.InstallationID, err)
		}
	}
	_, resp, err = rest.PullRequests.Edit(ctx, owner, name, in.Number, &github.PullRequest{State: github.Ptr("closed")})
	if err := classifyREST("close pull request", resp, err); err != nil {
		var ge *GitHubError
		if errors.As(err, &ge) && ge.Status == http.StatusUnprocessableEntity {
			return AlreadyClosed, nil
		}
		return "", p.settle(ctx, in.InstallationID, err)
	}
	if err := p.thr.release(ctx, in.CampaignID, strings.ToLower(in.Repository)); err != nil {
		return Closed, fmt.Errorf("closed %s#%d but could not free its open-PR slot: %w", in.Repository, in.Number, err)
	}
	return Closed, nil
}
