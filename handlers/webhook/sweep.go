package webhook

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// UnfinishedLister lists deliveries that should be in flight.
type UnfinishedLister interface {
	UnfinishedDeliveries(ctx context.Context, olderThan time.Time, limit int) ([]string, error)
}

// Sweeper re-enqueues stored deliveries whose queue entry is gone (Redis
// flushed or restarted, an enqueue that failed after the row was stored).
// The task id keeps a delivery that is still queued from being doubled.
type Sweeper struct {
	store UnfinishedLister
	queue Enqueuer
	age   time.Duration
	now   func() time.Time
}

// NewSweeper sweeps deliveries older than age.
func NewSweeper(st UnfinishedLister, q Enqueuer, age time.Duration) *Sweeper {
	return &Sweeper{store: st, queue: q, age: age, now: time.Now}
}

// Sweep runs one pass and returns how many deliveries it enqueued again.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	// One page per pass: the list is ordered by age and only shrinks as tasks run.
	ids, err := s.store.UnfinishedDeliveries(ctx, s.now().Add(-s.age), 500)
	if err != nil {
		return 0, err
	}
	requeued := 0
	for _, id := range ids {
		ok, err := s.queue.EnqueueDelivery(ctx, id)
		if err != nil {
			return requeued, err
		}
		if ok {
			requeued++
		}
	}
	if requeued > 0 {
		zerolog.Ctx(ctx).Warn().Int("requeued", requeued).Msg("re-enqueued deliveries whose queue entry was lost")
	}
	return requeued, nil
}
