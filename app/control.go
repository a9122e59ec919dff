package app

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// checkControlRepo tells the operator at start-up when the App is not
// installed on the control repository: no push or pull request of it
// would ever arrive, and nothing else would say why.
func checkControlRepo(ctx context.Context, cc githubapp.ClientCreator, controlRepo string, logger zerolog.Logger) error {
	if controlRepo == "" {
		logger.Warn().Msg("CAMPAIGN_CONTROL_REPO is not set: campaign specs are not read from any repository")
		return nil
	}
	owner, name, _ := strings.Cut(controlRepo, "/")
	client, err := cc.NewAppClient()
	if err != nil {
		return err
	}
	inst, _, err := client.Apps.FindRepositoryInstallation(ctx, owner, name)
	var ge *github.ErrorResponse
	switch {
	case errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound:
		logger.Error().Str("control_repo", controlRepo).
			Msg("the GitHub App is not installed on the control repository (or it does not exist): install the App on it, or fix CAMPAIGN_CONTROL_REPO; until then no spec is read")
		return nil
	case err != nil:
		return err
	}
	logger.Info().Str("control_repo", controlRepo).Int64("installation_id", inst.GetID()).Msg("control repository reachable")
	return nil
}
