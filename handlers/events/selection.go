package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/selection"
	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// Targets adapts the selection service to the orchestrator, with the
// installation's GraphQL client: plans read through the selection cache,
// run starts refresh it (the base commits must be current).
type Targets struct {
	githubapp.ClientCreator
	Selection *selection.Service
}

// Select implements orchestrator.Selector (plans).
func (t Targets) Select(ctx context.Context, installationID int64, targets spec.Targets) (orchestrator.Targets, error) {
	res, err := t.resolve(ctx, installationID, targets)
	if err != nil {
		return orchestrator.Targets{}, err
	}
	out := orchestrator.Targets{Warnings: res.Warnings, Cached: res.Cached}
	for _, r := range res.Repositories {
		out.Repositories = append(out.Repositories, r.FullName)
	}
	for _, e := range res.Excluded {
		out.Excluded = append(out.Excluded, orchestrator.Exclusion{FullName: e.FullName, Reason: e.Reason})
	}
	return out, nil
}

// Resolve implements orchestrator.TargetResolver (run starts).
func (t Targets) Resolve(ctx context.Context, installationID int64, targets spec.Targets) ([]orchestrator.Target, error) {
	res, err := t.resolve(ctx, installationID, targets, selection.Refresh())
	if err != nil {
		return nil, err
	}
	out := make([]orchestrator.Target, 0, len(res.Repositories))
	for _, r := range res.Repositories {
		out = append(out, orchestrator.Target{FullName: r.FullName, ID: r.ID, DefaultBranch: r.DefaultBranch, HeadSHA: r.HeadOID})
	}
	return out, nil
}

func (t Targets) resolve(ctx context.Context, installationID int64, targets spec.Targets, opts ...selection.ResolveOption) (*selection.Result, error) {
	gql, err := t.NewInstallationV4Client(installationID)
	if err != nil {
		return nil, fmt.Errorf("create GraphQL client for installation %d: %w", installationID, err)
	}
	res, err := t.Selection.Resolve(ctx, gql, installationID, targets, opts...)
	var qe *selection.QueryError
	if errors.As(err, &qe) {
		return nil, fmt.Errorf("%w: %w", orchestrator.ErrTargetsRejected, err)
	}
	return res, err
}
