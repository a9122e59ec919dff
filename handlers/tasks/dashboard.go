package tasks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/hibiken/asynq"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/queue"
)

// Dashboard handles queue.TypeDashboard: one coalesced refresh of a run's
// check run.
type Dashboard struct {
	Dashboards *status.Dashboards
}

// ProcessTask implements the asynq handler.
func (h *Dashboard) ProcessTask(ctx context.Context, t *asynq.Task) error {
	runID, err := strconv.ParseInt(string(t.Payload()), 10, 64)
	if err != nil {
		return fmt.Errorf("dashboard task payload %q is not a run id: %w", t.Payload(), asynq.SkipRetry)
	}
	err = h.Dashboards.Update(ctx, runID)
	if errors.Is(err, status.ErrBusy) {
		return &queue.RetryLater{After: 2 * time.Second, Reason: err.Error()}
	}
	return err
}

// CheckRuns adapts go-github's Checks API to status.Checks.
type CheckRuns struct {
	githubapp.ClientCreator
}

// CreateCheckRun implements status.Checks.
func (c CheckRuns) CreateCheckRun(ctx context.Context, installationID int64, repo, headSHA string, d status.Dashboard) (int64, error) {
	client, err := c.NewInstallationClient(installationID)
	if err != nil {
		return 0, fmt.Errorf("create installation client: %w", err)
	}
	owner, name, _ := strings.Cut(repo, "/")
	opts := github.CreateCheckRunOptions{Name: d.Name, HeadSHA: headSHA, Status: github.Ptr(d.Status), Output: output(d), Actions: checkActions(d)}
	if d.Status == "completed" {
		opts.Conclusion = github.Ptr(d.Conclusion)
	}
	run, _, err := client.Checks.CreateCheckRun(ctx, owner, name, opts)
	if err != nil {
		return 0, fmt.Errorf("create check run %q on %s@%s: %w", d.Name, repo, headSHA, err)
	}
	return run.GetID(), nil
}

// UpdateCheckRun implements status.Checks.
func (c CheckRuns) UpdateCheckRun(ctx context.Context, installationID int64, repo string, id int64, d status.Dashboard) error {
	client, err := c.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("create installation client: %w", err)
	}
	owner, name, _ := strings.Cut(repo, "/")
	opts := github.UpdateCheckRunOptions{Name: d.Name, Status: github.Ptr(d.Status), Output: output(d), Actions: checkActions(d)}
	if d.Status == "completed" {
		opts.Conclusion = github.Ptr(d.Conclusion)
	}
	// GitHub keeps a check run's buttons when an update leaves "actions"
	// out, and go-github omits an empty list: send it explicitly, so a run
	// that ends (or stops failing) loses its Pause/Retry buttons.
	body := struct {
		github.UpdateCheckRunOptions
		Actions []*github.CheckRunAction `json:"actions"`
	}{opts, opts.Actions}
	req, err := client.NewRequest("PATCH", fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, name, id), body)
	if err != nil {
		return fmt.Errorf("update check run %d on %s: %w", id, repo, err)
	}
	if _, err := client.Do(ctx, req, nil); err != nil {
		return fmt.Errorf("update check run %d on %s: %w", id, repo, err)
	}
	return nil
}

func output(d status.Dashboard) *github.CheckRunOutput {
	return &github.CheckRunOutput{Title: github.Ptr(d.Title), Summary: github.Ptr(d.Summary)}
}

func checkActions(d status.Dashboard) []*github.CheckRunAction {
	out := make([]*github.CheckRunAction, 0, len(d.Actions))
	for _, a := range d.Actions {
		out = append(out, &github.CheckRunAction{Label: a.Label, Description: a.Description, Identifier: a.Identifier})
	}
	return out
}
