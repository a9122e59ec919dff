package queue

import (
	"context"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// TypeDrift checks one changeset after its base branch moved; its payload
// is the repo task's UUID.
const TypeDrift = "campaign:drift"

// EnqueueDrift schedules a drift check in `in` under id (one per task and
// debounce window: more pushes in the window are no-ops).
func (c *Client) EnqueueDrift(ctx context.Context, taskID, id string, in time.Duration) (bool, error) {
	return c.Enqueue(ctx, TypeDrift, id, []byte(taskID), asynq.ProcessIn(in))
}

// TypeReconcileSweep re-reads every open changeset from GitHub; its
// payload is empty.
const TypeReconcileSweep = "campaign:reconcile_sweep"

// EnqueueReconcileSweep queues the sweep of one interval: every worker asks
// each interval, the id (the interval's number) lets one sweep run.
func (c *Client) EnqueueReconcileSweep(ctx context.Context, interval time.Duration, now time.Time) (bool, error) {
	bucket := now.UnixNano() / int64(interval)
	return c.Enqueue(ctx, TypeReconcileSweep, "reconcile-sweep:"+strconv.FormatInt(bucket, 10), nil,
		asynq.MaxRetry(0), asynq.Retention(interval))
}

// TypeVerify re-runs one repo task's steps on its default branch after
// its run's pull requests are all final; its payload is the task's UUID.
const TypeVerify = "campaign:verify"

// EnqueueVerify queues the verification of a repo task.
func (c *Client) EnqueueVerify(ctx context.Context, taskID string) (bool, error) {
	return c.Enqueue(ctx, TypeVerify, "verify:"+taskID, []byte(taskID))
}
