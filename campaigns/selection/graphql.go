package selection

import (
	"context"
	"sync/atomic"
)

// GraphQL is the GitHub GraphQL client selection needs. *githubv4.Client
// satisfies it (go-githubapp's ClientCreator.NewInstallationV4Client).
type GraphQL interface {
	Query(ctx context.Context, q any, variables map[string]any) error
}

// countingGraphQL counts the requests one resolve sends, for Result.Requests.
type countingGraphQL struct {
	gql GraphQL
	n   atomic.Int64
}

func (c *countingGraphQL) Query(ctx context.Context, q any, variables map[string]any) error {
	c.n.Add(1)
	return c.gql.Query(ctx, q, variables)
}
