package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
	"github.com/campaignbot/campaignbot/handlers/permissions"
)

// GitHubPermissions reads authority from GitHub's API with the
// installation's client (chatops.Permissions), never from Slack.
type GitHubPermissions struct {
	githubapp.ClientCreator
}

// For returns the permissions reader of an installation.
func (g GitHubPermissions) For(_ context.Context, installationID int64) (chatops.Permissions, error) {
	c, err := g.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("create installation client: %w", err)
	}
	return permissions.New(c), nil
}

// Comment is an issue or pull request comment as GitHub reports it.
type Comment struct {
	Author string
	Body   string
}

// Comments reads an issue's or pull request's comments on the control
// repository with the App's installation there.
func (g GitHubPermissions) Comments(ctx context.Context, repo string, number int) ([]Comment, error) {
	owner, name, _ := strings.Cut(repo, "/")
	app, err := g.NewAppClient()
	if err != nil {
		return nil, fmt.Errorf("create app client: %w", err)
	}
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, owner, name)
	if err != nil {
		return nil, fmt.Errorf("find the installation on %s: %w", repo, err)
	}
	c, err := g.NewInstallationClient(inst.GetID())
	if err != nil {
		return nil, fmt.Errorf("create installation client: %w", err)
	}
	var out []Comment
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.Issues.ListComments(ctx, owner, name, number, opt)
		if err != nil {
			return nil, fmt.Errorf("list comments of %s#%d: %w", repo, number, err)
		}
		for _, cm := range page {
			out = append(out, Comment{Author: cm.GetUser().GetLogin(), Body: cm.GetBody()})
		}
		if resp.NextPage == 0 || len(out) >= 1000 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}
