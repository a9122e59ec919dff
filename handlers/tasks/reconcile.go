package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/reconciler"
	"github.com/campaignbot/campaignbot/queue"
)

// Drift handles queue.TypeDrift: one changeset's drift check.
type Drift struct {
	Reconciler *reconciler.Reconciler
}

// ProcessTask implements the asynq handler; a check that is not due yet
// comes back when it is, without counting as a failure.
func (h *Drift) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id, err := uuid.Parse(string(t.Payload()))
	if err != nil {
		return fmt.Errorf("drift task payload %q is not a task id: %w", t.Payload(), asynq.SkipRetry)
	}
	err = h.Reconciler.Drift(ctx, id)
	var wait *reconciler.WaitError
	if errors.As(err, &wait) {
		return &queue.RetryLater{After: max(time.Until(wait.Until), time.Second), Reason: wait.Reason}
	}
	return err
}

// ReconcileSweep handles queue.TypeReconcileSweep.
type ReconcileSweep struct {
	Reconciler *reconciler.Reconciler
}

// ProcessTask runs one sweep. Failures are logged, not retried: the next
// interval's sweep reads everything again.
func (h *ReconcileSweep) ProcessTask(ctx context.Context, _ *asynq.Task) error {
	if _, err := h.Reconciler.Sweep(ctx); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("changeset sweep incomplete; the next sweep retries")
	}
	return nil
}

// SweepScheduler is the tasks.Sweeper that asks for a changeset sweep
// every interval; the queue's task id lets one worker run it.
type SweepScheduler struct {
	Queue    *queue.Client
	Interval time.Duration
	last     time.Time
}

// Sweep enqueues the interval's changeset sweep when one is due.
func (s *SweepScheduler) Sweep(ctx context.Context) (int, error) {
	now := time.Now()
	if !s.last.IsZero() && now.Sub(s.last) < s.Interval {
		return 0, nil
	}
	s.last = now
	// Scheduling the periodic sweep is not lost work found again, which is
	// what sweepers count: it adds nothing to the total.
	_, err := s.Queue.EnqueueReconcileSweep(ctx, s.Interval, now)
	return 0, err
}

// Verify handles queue.TypeVerify: one task's verification.
type Verify struct {
	Verifier *reconciler.Verifier
}

// ProcessTask implements the asynq handler.
func (h *Verify) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id, err := uuid.Parse(string(t.Payload()))
	if err != nil {
		return fmt.Errorf("verify task payload %q is not a task id: %w", t.Payload(), asynq.SkipRetry)
	}
	return h.Verifier.Verify(ctx, id)
}
