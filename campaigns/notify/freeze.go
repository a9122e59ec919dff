package notify

import (
	"context"
	"fmt"
)

// FrozenRuns lists unfinished runs whose message shows the kill switch
// otherwise than frozen.
type FrozenRuns interface {
	SlackRunsToTellFrozen(ctx context.Context, frozen bool) ([]int64, error)
}

// FreezeSweeper tells the kill switch's changes in the threads of every
// unfinished run, whoever flipped it (ChatOps, the config, an operator):
// each pass requests an update of the runs whose message has not shown the
// current state yet. Nothing happens while it does not change.
type FreezeSweeper struct {
	Notifier *Notifier
	Runs     FrozenRuns
}

// Sweep implements the worker's sweeper.
func (f FreezeSweeper) Sweep(ctx context.Context) (int, error) {
	if f.Notifier.cfg.KillSwitch == nil {
		return 0, nil
	}
	frozen, _ := f.Notifier.cfg.KillSwitch.Frozen(ctx)
	ids, err := f.Runs.SlackRunsToTellFrozen(ctx, frozen)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if err := f.Notifier.RequestUpdate(ctx, id); err != nil {
			return i, fmt.Errorf("tell run %d of the kill switch: %w", id, err)
		}
	}
	return len(ids), nil
}
