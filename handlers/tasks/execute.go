package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/queue"
)

// LeaseWait is how long a task whose lease is held elsewhere waits before
// it looks again.
const LeaseWait = 15 * time.Second

// CapWait is how long a task waits when a concurrency cap is full.
const CapWait = 2 * time.Second

// Execute handles queue.TypeExecute: one repo task's execution.
type Execute struct {
	Runner *orchestrator.Runner
}

// ProcessTask implements the asynq handler.
func (h *Execute) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id, err := uuid.Parse(string(t.Payload()))
	if err != nil {
		return fmt.Errorf("execute task payload %q is not a task id: %w", t.Payload(), asynq.SkipRetry)
	}
	err = h.Runner.Execute(ctx, id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, orchestrator.ErrLeased):
		return &queue.RetryLater{After: LeaseWait, Reason: err.Error()}
	case errors.Is(err, orchestrator.ErrBusy):
		return &queue.RetryLater{After: CapWait, Reason: err.Error()}
	case errors.Is(err, orchestrator.ErrGaveUp):
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	default:
		return err
	}
}
