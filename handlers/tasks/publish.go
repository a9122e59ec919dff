package tasks

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/publisher"
)

// Publish handles queue.TypePublish: one patch_ready task's pull request.
type Publish struct {
	Publishing *orchestrator.Publishing
}

// ProcessTask implements the asynq handler. A throttled publish comes
// back exactly when its budget returns, without counting as a failure.
func (h *Publish) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id, err := uuid.Parse(string(t.Payload()))
	if err != nil {
		return fmt.Errorf("publish task payload %q is not a task id: %w", t.Payload(), asynq.SkipRetry)
	}
	return queueError(h.Publishing.Publish(ctx, id))
}

// Publisher adapts campaigns/publisher to the orchestrator, with the
// installation's clients.
type Publisher struct {
	githubapp.ClientCreator
	Publisher  *publisher.Publisher
	GraphQLURL string
}

// Publish implements orchestrator.Publisher.
func (p Publisher) Publish(ctx context.Context, in orchestrator.PublishInput) (orchestrator.PublishedPR, error) {
	rest, err := p.NewInstallationClient(in.InstallationID)
	if err != nil {
		return orchestrator.PublishedPR{}, fmt.Errorf("create installation client: %w", err)
	}
	pin := publisher.Input{
		InstallationID: in.InstallationID, CampaignID: in.CampaignID, CampaignName: in.CampaignName,
		SpecVersion: in.SpecVersion, Spec: in.Spec, Repository: in.Repository, DefaultBranch: in.DefaultBranch, Result: in.Result,
	}
	if in.Existing != nil {
		pin.ExistingPR = &publisher.ExistingPR{Number: in.Existing.Number, NodeID: in.Existing.NodeID, Branch: in.Existing.Branch, HeadSHA: in.Existing.HeadSHA}
	}
	out, err := p.Publisher.Publish(ctx, publisher.NewClients(rest, p.GraphQLURL), pin)
	if err != nil {
		return orchestrator.PublishedPR{}, publishError(err)
	}
	return orchestrator.PublishedPR{Branch: out.Branch, Number: out.PRNumber, URL: out.PRURL, NodeID: out.PRNodeID, HeadSHA: out.HeadSHA}, nil
}
