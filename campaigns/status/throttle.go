package status

import (
	"context"
	"time"

	"github.com/campaignbot/campaignbot/store"
)

// KillSwitch reports whether publishing is frozen, and why.
type KillSwitch interface {
	Frozen(ctx context.Context) (bool, string)
}

// InstallationPauses says until when GitHub's rate limits stopped an
// installation's writes (publisher.PausedUntil).
type InstallationPauses interface {
	PausedUntil(ctx context.Context, installationID int64) (time.Time, error)
}

// Throttles explains why a run's publishing waits, from the kill switch,
// the installation's rate-limit pause and the run's last throttled publish.
type Throttles struct {
	Kill   KillSwitch
	Pauses InstallationPauses
	Now    func() time.Time
}

// Throttle implements ThrottleSource. Times are absolute (to the second)
// so that an unchanged wait renders the same dashboard and sends nothing.
func (t Throttles) Throttle(ctx context.Context, v store.RunView) *Throttle {
	if !active(v.Run.State) {
		return nil
	}
	now := time.Now()
	if t.Now != nil {
		now = t.Now()
	}
	if t.Kill != nil {
		if frozen, why := t.Kill.Frozen(ctx); frozen {
			return &Throttle{Reason: "kill switch: " + why, NextIn: "when unfrozen"}
		}
	}
	if t.Pauses != nil && v.Run.InstallationID != 0 {
		if until, err := t.Pauses.PausedUntil(ctx, v.Run.InstallationID); err == nil && until.After(now) {
			return &Throttle{Reason: "GitHub rate limit: the installation is paused", NextIn: at(until)}
		}
	}
	if v.ThrottledUntil != nil && v.ThrottledUntil.After(now) && v.ThrottleReason != "" {
		return &Throttle{Reason: v.ThrottleReason, NextIn: at(*v.ThrottledUntil)}
	}
	return nil
}

func active(state string) bool { return state == store.RunRunning || state == store.RunPaused }

func at(t time.Time) string { return "after " + t.UTC().Format("15:04:05") + " UTC" }
