package events

import (
	"context"
	"strings"

	"github.com/google/go-github/v74/github"

	"github.com/campaignbot/campaignbot/campaigns/reconciler"
)

// Tracker follows campaign pull requests on target repositories
// (campaigns/reconciler). Every method is cheap for repositories and
// commits that carry no campaign pull request: a database read, no
// GitHub request.
type Tracker interface {
	PullRequestEvent(ctx context.Context, ev reconciler.PullRequestEvent) error
	Refresh(ctx context.Context, repo string, number int) error
	HeadStatusChanged(ctx context.Context, repo, sha string) error
	BaseMoved(ctx context.Context, repo, branch, sha string) error
}

// trackedPRActions change what the tracker records of a pull request.
var trackedPRActions = map[string]bool{
	"opened": true, "closed": true, "reopened": true, "edited": true, "synchronize": true,
	"converted_to_draft": true, "ready_for_review": true,
}

// trackPullRequest hands a pull_request event on a target repository to
// the tracker.
func trackPullRequest(ctx context.Context, t Tracker, ev *github.PullRequestEvent) error {
	if t == nil || !trackedPRActions[ev.GetAction()] {
		return nil
	}
	pr := ev.GetPullRequest()
	out := reconciler.PullRequestEvent{
		InstallationID: ev.GetInstallation().GetID(), Repository: ev.GetRepo().GetFullName(), Number: pr.GetNumber(),
		Action: ev.GetAction(), State: pr.GetState(), Merged: pr.GetMerged(), Draft: pr.GetDraft(),
		HeadSHA: pr.GetHead().GetSHA(), Mergeable: pr.Mergeable, Sender: ev.GetSender().GetLogin(),
	}
	if pr.UpdatedAt != nil {
		out.UpdatedAt = pr.UpdatedAt.Time
	}
	return t.PullRequestEvent(ctx, out)
}

// trackPush tells the tracker that a branch of a target repository moved.
func trackPush(ctx context.Context, t Tracker, ev *github.PushEvent) error {
	branch, isBranch := strings.CutPrefix(ev.GetRef(), "refs/heads/")
	if t == nil || !isBranch || ev.GetDeleted() || ev.GetAfter() == "" {
		return nil
	}
	return t.BaseMoved(ctx, ev.GetRepo().GetFullName(), branch, ev.GetAfter())
}
