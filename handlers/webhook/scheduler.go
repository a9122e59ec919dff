package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/store"
)

// Errors Schedule returns; the endpoint maps them to HTTP statuses.
var (
	// ErrBadPayload: the body is not a JSON object (400; GitHub will not fix it by redelivering).
	ErrBadPayload = errors.New("payload is not a JSON object")
	// ErrUnavailable: the delivery could not be made durable (503, so GitHub redelivers).
	ErrUnavailable = errors.New("delivery could not be stored or queued")
)

// DeliveryStore is the part of the store the scheduler writes to.
type DeliveryStore interface {
	InsertDelivery(ctx context.Context, d store.Delivery) (state string, inserted bool, err error)
}

// Enqueuer puts a stored delivery on the queue; false, nil means it is there already.
type Enqueuer interface {
	EnqueueDelivery(ctx context.Context, deliveryID string) (bool, error)
}

// Scheduler implements githubapp.Scheduler durably: a delivery is stored
// in PostgreSQL, then enqueued, and only then does the dispatcher answer.
// It never executes handlers itself; the worker does.
type Scheduler struct {
	store DeliveryStore
	queue Enqueuer
}

// NewScheduler returns a Scheduler writing to st and q.
func NewScheduler(st DeliveryStore, q Enqueuer) *Scheduler {
	return &Scheduler{store: st, queue: q}
}

var _ githubapp.Scheduler = (*Scheduler)(nil)

// Schedule stores and enqueues d. A delivery id seen before is acknowledged
// without being queued again, unless its earlier attempt never reached the
// queue (state pending): then it is enqueued now, and the queue's task id
// keeps it single.
func (s *Scheduler) Schedule(ctx context.Context, d githubapp.Dispatch) error {
	meta, err := parseMeta(d.Payload)
	if err != nil {
		return err
	}
	state, inserted, err := s.store.InsertDelivery(ctx, store.Delivery{
		ID: d.DeliveryID, Event: d.EventType, Action: meta.Action,
		InstallationID: meta.InstallationID, Repository: meta.Repository, Payload: d.Payload,
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !inserted && state != store.DeliveryPending {
		setOutcome(ctx, OutcomeDuplicate)
		return nil
	}
	if _, err := s.queue.EnqueueDelivery(ctx, d.DeliveryID); err != nil {
		// The row stays pending: GitHub's redelivery (answered 503 now) or
		// the sweeper enqueues it later, so it is never swallowed.
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if inserted {
		setOutcome(ctx, OutcomeAccepted)
	} else {
		setOutcome(ctx, OutcomeDuplicate)
	}
	return nil
}
