package status

import (
	"context"
	"strconv"
	"time"
)

// CoalesceSlot names the delayed task that carries every update request of
// a run made during the same interval, and says how long until that
// interval ends: requests in one interval share one task (the queue drops
// a second task with the same id), so a thousand finished tasks cause one
// update, not a thousand. kind keeps the dashboard's and Slack's slots apart.
func CoalesceSlot(kind string, runID int64, now time.Time, every time.Duration) (taskID string, in time.Duration) {
	bucket := now.UnixNano() / int64(every)
	due := time.Unix(0, (bucket+1)*int64(every))
	return kind + ":" + strconv.FormatInt(runID, 10) + ":" + strconv.FormatInt(bucket, 10), max(due.Sub(now), 0)
}

// RunLock runs fn while holding one kind of lease on a run; ok is false
// (fn not run) when another holder has it.
type RunLock func(ctx context.Context, runID int64, fn func(ctx context.Context) error) (ok bool, err error)

// Serialised runs update for the run under lock, so two updates of one
// run never interleave (what they create is created once); it returns busy
// when another update holds the lock.
func Serialised(ctx context.Context, runID int64, lock RunLock, busy error, update func(ctx context.Context, runID int64) error) error {
	var updErr error
	ok, err := lock(ctx, runID, func(ctx context.Context) error {
		updErr = update(ctx, runID)
		return nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return busy
	}
	return updErr
}
