package orchestrator

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// recordBackoff spaces the attempts to record an outcome GitHub already
// holds (about 15 s in all): a database blip must not leave a published
// pull request unrecorded until the task's lease runs out.
var recordBackoff = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// recordOutcome runs record (an idempotent write) until it succeeds, ctx
// ends or the backoff is spent; it returns the last error.
func recordOutcome(ctx context.Context, what string, record func(context.Context) error) error {
	err := record(ctx)
	for _, wait := range recordBackoff {
		if err == nil {
			return nil
		}
		zerolog.Ctx(ctx).Warn().Err(err).Dur("retry_in", wait).Msg("could not record " + what + "; retrying")
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		err = record(ctx)
	}
	return err
}
