package publisher

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// GitHub's content-creation limits count every write of the installation,
// not only the publisher's: the dashboard's check-run updates, ChatOps
// replies and reactions, the reconciler's comments. Those writes cannot
// wait for budget (an answer to a person must go out), so they are
// recorded after the fact in the same windows the publisher admits from:
// the publisher then leaves room for them instead of running into
// GitHub's secondary limit.

// chargedKey marks a context whose writes the publisher already charged.
type chargedKey struct{}

// Charged reports whether ctx carries requests the publisher charged
// before making them (a counting transport must not count them again).
func Charged(ctx context.Context) bool {
	v, _ := ctx.Value(chargedKey{}).(bool)
	return v
}

// MarkCharged returns ctx marked as carrying requests already charged to
// the content budget (the publisher marks its own).
func MarkCharged(ctx context.Context) context.Context {
	return context.WithValue(ctx, chargedKey{}, true)
}

// Debit records units content-creating requests an installation made
// outside the publisher in the installation's and the global windows,
// without waiting.
func (p *Publisher) Debit(ctx context.Context, installationID int64, units int) error {
	return p.thr.debit(ctx, installationID, units)
}

func (t *throttle) debit(ctx context.Context, inst int64, units int) error {
	if units <= 0 {
		return nil
	}
	now := t.cfg.Clock.Now()
	// Members unique among every writer's without a trip for the shared
	// sequence: the debit is one pipelined round trip.
	members := make([]string, units)
	for j := range members {
		members[j] = strconv.FormatInt(now.UnixMilli(), 10) + ":d" + uuid.NewString()
	}
	id := strconv.FormatInt(inst, 10)
	pipe := t.rdb.Pipeline()
	for _, w := range []struct {
		key   string
		limit int
		span  time.Duration
	}{
		{t.key("inst", id, "content"), t.cfg.ContentPerMinute, time.Minute},
		{t.key("inst", id, "content-hour"), t.cfg.ContentPerHour, time.Hour},
		{t.key("global", "content"), t.cfg.GlobalContentPerMinute, time.Minute},
		{t.key("global", "content-hour"), t.cfg.GlobalContentPerHour, time.Hour},
	} {
		if w.limit <= 0 {
			continue // no such limit: acquire keeps no log for it either
		}
		pipe.ZRemRangeByScore(ctx, w.key, "-inf", strconv.FormatInt(now.Add(-w.span).UnixMilli(), 10))
		for _, m := range members {
			pipe.ZAdd(ctx, w.key, redis.Z{Score: float64(now.UnixMilli()), Member: m})
		}
		pipe.PExpire(ctx, w.key, w.span+time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("publisher throttle: debit: %w", err)
	}
	return nil
}
