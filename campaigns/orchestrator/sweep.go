package orchestrator

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// InFlightLister lists repo tasks that should be queued or running.
type InFlightLister interface {
	InFlightTasks(ctx context.Context, olderThan time.Time, limit int) ([]store.RepoTask, error)
}

// TaskSweeper re-enqueues repo tasks whose database state says they are
// queued (or running with an expired lease) but that have not moved: their
// queue entry was lost (Redis flushed or restarted) or their worker died.
// The dedupe key as task id keeps a task that is still queued single.
type TaskSweeper struct {
	store InFlightLister
	queue TaskQueue
	age   time.Duration
}

// NewTaskSweeper sweeps tasks idle for longer than age.
func NewTaskSweeper(st InFlightLister, q TaskQueue, age time.Duration) *TaskSweeper {
	return &TaskSweeper{store: st, queue: q, age: age}
}

// Sweep runs one pass and returns how many tasks it enqueued again.
func (s *TaskSweeper) Sweep(ctx context.Context) (int, error) {
	requeued := 0
	for {
		tasks, err := s.store.InFlightTasks(ctx, time.Now().Add(-s.age), 1000)
		if err != nil {
			return requeued, err
		}
		n := 0
		for _, t := range tasks {
			ok, err := s.queue.EnqueueExecute(ctx, t.ID.String(), t.DedupeKey)
			if err != nil {
				return requeued, err
			}
			if ok {
				n++
			}
		}
		requeued += n
		// Tasks found queued keep their age, so a full page of them would
		// be listed again: one page per pass unless this one re-enqueued all.
		if len(tasks) < 1000 || n < len(tasks) {
			break
		}
	}
	if requeued > 0 {
		zerolog.Ctx(ctx).Warn().Int("requeued", requeued).Msg("re-enqueued repo tasks whose queue entry was lost")
	}
	return requeued, nil
}
