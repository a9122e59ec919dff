package tasks

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// Sweeper is one pass of a sweeper (deliveries, repo tasks).
type Sweeper interface {
	Sweep(ctx context.Context) (int, error)
}

// RunSweepers runs every sweeper each interval until ctx ends.
func RunSweepers(ctx context.Context, interval time.Duration, sweepers ...Sweeper) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, s := range sweepers {
				if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
					zerolog.Ctx(ctx).Error().Err(err).Msg("sweep failed")
				}
			}
		}
	}
}
