package orchestrator

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// StalePublishLister lists tasks whose publishing may have been lost.
type StalePublishLister interface {
	StalePublishTasks(ctx context.Context, olderThan time.Time, limit int) ([]store.RepoTask, error)
}

// PublishSweeper re-enqueues publishing for patch_ready tasks idle too
// long (a lost enqueue, a flushed Redis) and publishing tasks whose
// worker died. A throttled task still waiting in the queue keeps its task
// id, so this adds nothing for it.
type PublishSweeper struct {
	store StalePublishLister
	queue PublishQueue
	age   time.Duration
}

// NewPublishSweeper sweeps tasks idle for longer than age.
func NewPublishSweeper(st StalePublishLister, q PublishQueue, age time.Duration) *PublishSweeper {
	return &PublishSweeper{store: st, queue: q, age: age}
}

// Sweep runs one pass and returns how many publishes it enqueued again.
func (s *PublishSweeper) Sweep(ctx context.Context) (int, error) {
	tasks, err := s.store.StalePublishTasks(ctx, time.Now().Add(-s.age), 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tasks {
		ok, err := s.queue.EnqueuePublish(ctx, t.ID.String(), t.DedupeKey, t.PatchHash, 0)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	if n > 0 {
		zerolog.Ctx(ctx).Warn().Int("requeued", n).Msg("re-enqueued publishing whose queue entry was lost")
	}
	return n, nil
}
