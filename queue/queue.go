// Package queue is campaignbot's task transport on Asynq and Redis: queue
// and task names, the Redis connection, enqueueing with dedupe keys and the
// dead-letter queue (Asynq's archive of the campaign_tasks queue).
// PostgreSQL stays the source of truth: everything here can be lost and
// rebuilt by the sweepers.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Queue names (DESIGN.md §6). Tasks that fail for good are archived in
// Tasks; the docs call that archive campaign_tasks_dlq.
const (
	Tasks = "campaign_tasks"
	DLQ   = "campaign_tasks_dlq"
)

// Task types.
const (
	// TypeWebhook processes one stored GitHub delivery; its payload is the delivery id.
	TypeWebhook = "github:webhook"
)

// OpenRedis connects to REDIS_URL and checks the connection.
func OpenRedis(ctx context.Context, redisURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connect to redis %s: %w", opt.Addr, err)
	}
	return rdb, nil
}

// Client enqueues tasks.
type Client struct {
	asynq *asynq.Client
	// maxRetry applies to every task enqueued here unless overridden.
	maxRetry int
}

// NewClient wraps an Asynq client on rdb.
func NewClient(rdb redis.UniversalClient, maxRetry int) *Client {
	return &Client{asynq: asynq.NewClientFromRedisClient(rdb), maxRetry: maxRetry}
}

// Close releases the client (not the shared Redis connection).
func (c *Client) Close() error { return c.asynq.Close() }

// Enqueue puts a task on campaign_tasks with id as its Asynq TaskID, so the
// same id is never queued twice. It reports false, nil when a task with
// that id already exists (queued, running, retrying or archived).
func (c *Client) Enqueue(ctx context.Context, taskType, id string, payload []byte, opts ...asynq.Option) (bool, error) {
	all := append([]asynq.Option{asynq.Queue(Tasks), asynq.TaskID(id), asynq.MaxRetry(c.maxRetry)}, opts...)
	_, err := c.asynq.EnqueueContext(ctx, asynq.NewTask(taskType, payload), all...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue %s task %s: %w", taskType, id, err)
	}
	return true, nil
}

// EnqueueDelivery enqueues the processing of one stored webhook delivery.
func (c *Client) EnqueueDelivery(ctx context.Context, deliveryID string) (bool, error) {
	return c.Enqueue(ctx, TypeWebhook, "delivery:"+deliveryID, []byte(deliveryID))
}

// DeadTask is a task that failed for good.
type DeadTask struct {
	ID        string
	Type      string
	Payload   []byte
	LastError string
	Retried   int
	FailedAt  time.Time
}

// DeadLetters reads and replays the dead-letter queue.
type DeadLetters struct {
	inspector *asynq.Inspector
}

// NewDeadLetters wraps an Asynq inspector on rdb.
func NewDeadLetters(rdb redis.UniversalClient) *DeadLetters {
	return &DeadLetters{inspector: asynq.NewInspectorFromRedisClient(rdb)}
}

// List returns up to limit dead tasks, newest first.
func (d *DeadLetters) List(limit int) ([]DeadTask, error) {
	infos, err := d.inspector.ListArchivedTasks(Tasks, asynq.PageSize(limit))
	if err != nil {
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("list dead-letter queue: %w", err)
	}
	out := make([]DeadTask, 0, len(infos))
	for _, ti := range infos {
		out = append(out, DeadTask{ID: ti.ID, Type: ti.Type, Payload: ti.Payload, LastError: ti.LastErr, Retried: ti.Retried, FailedAt: ti.LastFailedAt})
	}
	return out, nil
}

// Replay moves one dead task back to the queue.
func (d *DeadLetters) Replay(id string) error {
	if err := d.inspector.RunTask(Tasks, id); err != nil {
		return fmt.Errorf("replay dead task %s: %w", id, err)
	}
	return nil
}

// ReplayAll moves every dead task back to the queue.
func (d *DeadLetters) ReplayAll() (int, error) {
	n, err := d.inspector.RunAllArchivedTasks(Tasks)
	if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
		return n, fmt.Errorf("replay dead-letter queue: %w", err)
	}
	return n, nil
}

// TypeExecute runs one repo task's steps; its payload is the task's UUID.
const TypeExecute = "campaign:execute"

// EnqueueExecute enqueues the execution of a repo task under its dedupe key.
func (c *Client) EnqueueExecute(ctx context.Context, taskID, dedupeKey string) (bool, error) {
	return c.Enqueue(ctx, TypeExecute, "execute:"+dedupeKey, []byte(taskID))
}

// RetryLater is returned by a task handler that could not start yet (a
// lease held elsewhere, a throttle): the task runs again after After
// without counting as a failed attempt.
type RetryLater struct {
	After  time.Duration
	Reason string
}

func (e *RetryLater) Error() string { return "retry later: " + e.Reason }

// IsRetryLater reports whether err asks for a delay rather than a retry.
func IsRetryLater(err error) (*RetryLater, bool) {
	var rl *RetryLater
	ok := errors.As(err, &rl)
	return rl, ok
}

// TypeDashboard refreshes one run's dashboard; its payload is the run id.
const TypeDashboard = "campaign:dashboard"

// EnqueueDashboard schedules a dashboard refresh in `in`, under taskID (one
// per run and interval: later requests in the interval are no-ops).
func (c *Client) EnqueueDashboard(ctx context.Context, runID int64, taskID string, in time.Duration) (bool, error) {
	return c.Enqueue(ctx, TypeDashboard, taskID, []byte(strconv.FormatInt(runID, 10)), asynq.ProcessIn(in), asynq.MaxRetry(3))
}

// TypePublish turns one patch_ready repo task into a pull request; its
// payload is the task's UUID.
const TypePublish = "campaign:publish"

// EnqueuePublish enqueues publishing a task's change. The id joins the
// task's execute dedupe key (campaign, repository, spec version) with the
// patch hash: the same change is never queued twice, a new one is.
func (c *Client) EnqueuePublish(ctx context.Context, taskID, executeKey, patchHash string, in time.Duration) (bool, error) {
	return c.Enqueue(ctx, TypePublish, "publish:"+executeKey+":"+patchHash, []byte(taskID), asynq.ProcessIn(in))
}

// TypeClosePR closes one campaign pull request with a comment (cancel,
// skip); its payload is a ClosePR.
const TypeClosePR = "campaign:close_pr"

// ClosePR is the payload of TypeClosePR.
type ClosePR struct {
	TaskID     string `json:"task_id"`
	Comment    string `json:"comment"`
	FinalState string `json:"final_state"`
}

// EnqueueClose enqueues closing a task's pull request; one per task.
func (c *Client) EnqueueClose(ctx context.Context, taskID uuid.UUID, comment, finalState string) (bool, error) {
	payload, err := json.Marshal(ClosePR{TaskID: taskID.String(), Comment: comment, FinalState: finalState})
	if err != nil {
		return false, fmt.Errorf("encode close task: %w", err)
	}
	return c.Enqueue(ctx, TypeClosePR, "close:"+taskID.String(), payload)
}
