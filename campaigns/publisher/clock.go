package publisher

import (
	"context"
	"time"
)

// Clock is the publisher's source of time for throttles and retry-after.
// githubfake's VirtualClock satisfies it, so tests pass hours in
// milliseconds.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// sleep waits d (wall time) or until ctx ends. Backoff after a 5xx uses
// wall time even under a virtual clock: it waits for a server, not for a
// budget.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
