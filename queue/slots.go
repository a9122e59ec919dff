package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Slots is a counting semaphore in Redis shared by every worker: at most
// limit holders per key, each holding a lease that expires, so a worker
// that dies frees its slots on its own.
type Slots struct {
	rdb redis.UniversalClient
}

// NewSlots returns Slots on rdb.
func NewSlots(rdb redis.UniversalClient) *Slots { return &Slots{rdb: rdb} }

// acquireScript: drop expired holders, then take a slot if one is free (or
// refresh the caller's own). KEYS[1] zset; ARGV: holder, limit, now ms, lease ms.
var acquireScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
  return 1
end
return 0`)

// Cap is one limit to respect: Key names the scope (global, an
// installation, a campaign), Limit <= 0 means unlimited.
type Cap struct {
	Key   string
	Limit int
}

// Acquire takes a slot under every cap for holder, all or none. It
// reports false when any cap is full (the caller waits and tries again).
func (s *Slots) Acquire(ctx context.Context, holder string, lease time.Duration, caps ...Cap) (bool, error) {
	var taken []string
	for _, c := range caps {
		if c.Limit <= 0 {
			continue
		}
		key := "campaignbot:slots:" + c.Key
		ok, err := acquireScript.Run(ctx, s.rdb, []string{key}, holder, c.Limit, time.Now().UnixMilli(), lease.Milliseconds()).Int()
		if err != nil {
			s.release(ctx, holder, taken)
			return false, fmt.Errorf("acquire %s slot: %w", c.Key, err)
		}
		if ok != 1 {
			s.release(ctx, holder, taken)
			return false, nil
		}
		taken = append(taken, key)
	}
	return true, nil
}

// Release frees holder's slots under caps.
func (s *Slots) Release(ctx context.Context, holder string, caps ...Cap) {
	var keys []string
	for _, c := range caps {
		keys = append(keys, "campaignbot:slots:"+c.Key)
	}
	s.release(ctx, holder, keys)
}

func (s *Slots) release(ctx context.Context, holder string, keys []string) {
	for _, k := range keys {
		s.rdb.ZRem(context.WithoutCancel(ctx), k, holder)
	}
}
