package orchestrator

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/store"
)

// CompletionStore is what settling a run reads and writes.
type CompletionStore interface {
	AdvanceWave(ctx context.Context, runID int64, gate func(tx pgx.Tx, wave int) (bool, error)) (store.WaveProgress, error)
	CompleteRunIfDone(ctx context.Context, runID int64) (bool, error)
	SetRunState(ctx context.Context, runID int64, from []string, state, reason string) (bool, error)
	RunSpec(ctx context.Context, runID int64) (versionID int64, yaml string, failuresAcked int, err error)
}

// WaveGate says whether the wave after wave may start; the reconciler
// supplies one that waits for CI. Without a gate a wave ends when its
// tasks are final or their pull requests open.
type WaveGate func(ctx context.Context, tx pgx.Tx, runID int64, wave int) (bool, error)

// Completion moves a run forward after any of its tasks settled: it
// releases the next rollout wave, pauses the run when too many tasks
// failed (rollout.pauseOnFailureRate) and completes it when every task is
// final. Every path that changes a task's state calls Settle.
type Completion struct {
	store    CompletionStore
	queue    TaskQueue
	progress Progress
	gate     WaveGate

	mu    sync.Mutex
	rates map[int64]float64 // spec version id -> pauseOnFailureRate
}

// NewCompletion returns a Completion; progress may be nil.
func NewCompletion(st CompletionStore, q TaskQueue, progress Progress) *Completion {
	return &Completion{store: st, queue: q, progress: progress, rates: map[int64]float64{}}
}

// SetWaveGate installs the gate that holds the next wave (the reconciler's CI signal).
func (c *Completion) SetWaveGate(g WaveGate) { c.gate = g }

// minFailureSample is how many finished tasks the failure rate needs
// before it can pause a run: one early failure of two is no signal.
const minFailureSample = 5

// Settle moves run runID forward. It is idempotent and cheap: one
// transaction under the run's row lock, plus an update when the run
// completes or pauses.
func (c *Completion) Settle(ctx context.Context, runID int64) error {
	var gate func(tx pgx.Tx, wave int) (bool, error)
	if c.gate != nil {
		gate = func(tx pgx.Tx, wave int) (bool, error) { return c.gate(ctx, tx, runID, wave) }
	}
	p, err := c.store.AdvanceWave(ctx, runID, gate)
	if err != nil {
		return err
	}
	changed := false
	for _, t := range p.Released {
		if _, err := c.queue.EnqueueExecute(ctx, t.ID.String(), t.DedupeKey); err != nil {
			// The rows say queued: the sweeper enqueues what this missed.
			zerolog.Ctx(ctx).Warn().Err(err).Str("repository", t.Repository).Msg("could not enqueue a task of the next wave; the sweeper will")
		}
		changed = true
	}
	if len(p.Released) > 0 {
		zerolog.Ctx(ctx).Info().Int64("run_id", runID).Int("wave", p.Wave).Int("tasks", len(p.Released)).Msg("next rollout wave released")
	}
	paused, err := c.pauseOnFailures(ctx, runID, p)
	if err != nil {
		return err
	}
	done, err := c.store.CompleteRunIfDone(ctx, runID)
	if err != nil {
		return err
	}
	if done {
		zerolog.Ctx(ctx).Info().Int64("run_id", runID).Int("tasks", p.Total).Int("failed", p.Failed).Msg("run completed")
	}
	if (changed || paused || done) && c.progress != nil {
		return c.progress.RequestUpdate(ctx, runID)
	}
	return nil
}

// pauseOnFailures pauses a running run whose failures since the last
// resume reach rollout.pauseOnFailureRate of its finished tasks.
func (c *Completion) pauseOnFailures(ctx context.Context, runID int64, p store.WaveProgress) (bool, error) {
	if p.Failed == 0 || p.Finished < minFailureSample {
		return false, nil
	}
	versionID, yaml, acked, err := c.store.RunSpec(ctx, runID)
	if err != nil {
		return false, err
	}
	if p.Failed <= acked {
		return false, nil // resumed by a person after these failures
	}
	rate := c.rate(versionID, yaml)
	if rate <= 0 || float64(p.Failed)/float64(p.Finished) < rate {
		return false, nil
	}
	reason := fmt.Sprintf("paused automatically: %d of %d finished tasks failed (%.0f%%, rollout.pauseOnFailureRate is %.0f%%); fix the cause, then /campaign retry failed or /campaign resume",
		p.Failed, p.Finished, 100*float64(p.Failed)/float64(p.Finished), 100*rate)
	ok, err := c.store.SetRunState(ctx, runID, []string{store.RunRunning}, store.RunPaused, reason)
	if ok {
		zerolog.Ctx(ctx).Warn().Int64("run_id", runID).Int("failed", p.Failed).Int("finished", p.Finished).Msg("run paused: failure rate reached")
	}
	return ok, err
}

// rate returns the spec version's pauseOnFailureRate, parsing it once.
func (c *Completion) rate(versionID int64, yaml string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.rates[versionID]; ok {
		return r
	}
	r := 0.0
	if s, diags := spec.Parse("spec.yaml", []byte(yaml)); s != nil && !diags.HasErrors() {
		r = s.Rollout.PauseOnFailureRate
	}
	if len(c.rates) > 1000 {
		clear(c.rates)
	}
	c.rates[versionID] = r
	return r
}
