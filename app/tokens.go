package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// repoTokens mints the narrowest token a checkout needs: an installation
// token for exactly one repository with contents: read (runner.TokenSource).
type repoTokens struct {
	cc githubapp.ClientCreator
}

// RepoReadToken implements runner.TokenSource.
func (t repoTokens) RepoReadToken(ctx context.Context, installationID int64, repo string) (string, error) {
	_, name, ok := strings.Cut(repo, "/")
	if !ok {
		return "", fmt.Errorf("repository %q is not owner/name", repo)
	}
	app, err := t.cc.NewAppClient()
	if err != nil {
		return "", fmt.Errorf("create app client: %w", err)
	}
	tok, _, err := app.Apps.CreateInstallationToken(ctx, installationID, &github.InstallationTokenOptions{
		Repositories: []string{name},
		Permissions:  &github.InstallationPermissions{Contents: github.Ptr("read")},
	})
	if err != nil {
		return "", fmt.Errorf("create read-only token for %s: %w", repo, err)
	}
	return tok.GetToken(), nil
}
