package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v74/github"
)

// permissions reads authority from GitHub's API (chatops.Permissions).
type permissions struct {
	client *github.Client
}

// RepoPermission implements chatops.Permissions.
func (p permissions) RepoPermission(ctx context.Context, repo, user string) (string, error) {
	owner, name, _ := strings.Cut(repo, "/")
	lvl, _, err := p.client.Repositories.GetPermissionLevel(ctx, owner, name, user)
	if err != nil {
		var ge *github.ErrorResponse
		if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound {
			return "none", nil
		}
		return "", fmt.Errorf("GET collaborator permission of %s on %s: %w", user, repo, err)
	}
	return lvl.GetPermission(), nil
}

// TeamMember implements chatops.Permissions.
func (p permissions) TeamMember(ctx context.Context, org, team, user string) (bool, error) {
	m, _, err := p.client.Teams.GetTeamMembershipBySlug(ctx, org, team, user)
	if err != nil {
		var ge *github.ErrorResponse
		if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, fmt.Errorf("GET membership of %s in %s/%s: %w", user, org, team, err)
	}
	return m.GetState() == "active", nil
}
