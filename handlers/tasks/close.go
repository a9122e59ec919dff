package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/publisher"
	"github.com/campaignbot/campaignbot/queue"
)

// Close handles queue.TypeClosePR: one campaign pull request closed with a
// comment (cancel, skip).
type Close struct {
	Closing *orchestrator.Closing
}

// ProcessTask implements the asynq handler.
func (h *Close) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p queue.ClosePR
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("close task payload is not JSON: %v: %w", err, asynq.SkipRetry)
	}
	id, err := uuid.Parse(p.TaskID)
	if err != nil {
		return fmt.Errorf("close task payload %q has no task id: %w", p.TaskID, asynq.SkipRetry)
	}
	return queueError(h.Closing.Close(ctx, id, p.Comment, p.FinalState))
}

// queueError maps the orchestrator's outcomes onto Asynq's: throttles
// and leases wait without counting as failures, ErrGaveUp is final.
func queueError(err error) error {
	var th *orchestrator.ThrottledError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &th):
		return &queue.RetryLater{After: max(time.Until(th.Until), time.Second), Reason: th.Reason}
	case errors.Is(err, orchestrator.ErrLeased):
		return &queue.RetryLater{After: LeaseWait, Reason: err.Error()}
	case errors.Is(err, orchestrator.ErrGaveUp):
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	default:
		return err
	}
}

// ClosePR implements orchestrator.PRCloser with campaigns/publisher.
func (p Publisher) ClosePR(ctx context.Context, in orchestrator.ClosePRInput) (bool, error) {
	rest, err := p.NewInstallationClient(in.InstallationID)
	if err != nil {
		return false, fmt.Errorf("create installation client: %w", err)
	}
	out, err := p.Publisher.Close(ctx, publisher.NewClients(rest, p.GraphQLURL), publisher.CloseInput{
		InstallationID: in.InstallationID, CampaignID: in.CampaignID, Repository: in.Repository, Number: in.Number, Comment: in.Comment})
	return out == publisher.AlreadyMerged, publishError(err)
}

// publishError maps the publisher's error kinds onto the orchestrator's.
func publishError(err error) error {
	var th *publisher.Throttled
	var perm *publisher.Permanent
	switch {
	case errors.As(err, &th):
		return &orchestrator.ThrottledError{Until: th.Until, Reason: th.Reason}
	case errors.As(err, &perm):
		return fmt.Errorf("%w: %w", orchestrator.ErrGaveUp, err)
	}
	return err
}

// BranchHeads implements orchestrator.BranchHeads with one REST request.
type BranchHeads struct {
	githubapp.ClientCreator
}

// BranchHead returns the commit repo's branch points at.
func (b BranchHeads) BranchHead(ctx context.Context, installationID int64, repo, branch string) (string, error) {
	client, err := b.NewInstallationClient(installationID)
	if err != nil {
		return "", fmt.Errorf("create installation client: %w", err)
	}
	owner, name, _ := strings.Cut(repo, "/")
	br, _, err := client.Repositories.GetBranch(ctx, owner, name, branch, 0)
	if err != nil {
		return "", fmt.Errorf("read branch %s of %s: %w", branch, repo, err)
	}
	return br.GetCommit().GetSHA(), nil
}
