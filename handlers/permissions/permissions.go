// Package permissions reads a person's authority from GitHub's API with an
// installation's client: the chatops.Permissions that ChatOps comments and
// Slack commands are both authorised by (never from what the request says).
package permissions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v74/github"
)

// GitHub implements chatops.Permissions with an installation's client.
type GitHub struct {
	client *github.Client
}

// New returns the permissions reader over an installation's client.
func New(client *github.Client) GitHub { return GitHub{client: client} }

// notFound: GitHub answers 404 for a person who is no collaborator or no
// team member — no authority, not an error.
func notFound(err error) bool {
	var ge *github.ErrorResponse
	return errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound
}

// RepoPermission implements chatops.Permissions.
func (p GitHub) RepoPermission(ctx context.Context, repo, user string) (string, error) {
	owner, name, _ := strings.Cut(repo, "/")
	lvl, _, err := p.client.Repositories.GetPermissionLevel(ctx, owner, name, user)
	if notFound(err) {
		return "none", nil
	}
	if err != nil {
		return "", fmt.Errorf("GET collaborator permission of %s on %s: %w", user, repo, err)
	}
	return lvl.GetPermission(), nil
}

// TeamMember implements chatops.Permissions.
func (p GitHub) TeamMember(ctx context.Context, org, team, user string) (bool, error) {
	m, _, err := p.client.Teams.GetTeamMembershipBySlug(ctx, org, team, user)
	if notFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("GET membership of %s in %s/%s: %w", user, org, team, err)
	}
	return m.GetState() == "active", nil
}
