package publisher

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The throttles are sliding-window logs in Redis sorted sets (one member
// per unit, scored by its time in milliseconds) because that is how GitHub
// counts content creation: a token bucket (GCRA) with a burst of 500 would
// let 500 units through and then one every 7.2s, which GitHub's sliding
// hour refuses. A window of 500 entries per installation is cheap.
//
// One script checks the installation's pause, every window and the
// campaign's open pull requests, and charges all of them or none, so
// concurrent workers cannot overshoot between a check and a charge.
//
// KEYS: 1 pause, 2 sequence, 3 open-PR set, 4.. window sets.
// ARGV: 1 now(ms), 2 repo, 3 maxOpen (0: no limit, -1: not a new PR),
// 4 unused, then per window: limit, window(ms), cost.
//
// Returns {1, members...} when charged (the members added to the content
// windows, for a refund), or {0, until(ms), reason}.
var acquireScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then return {0, paused, 'installation paused after a GitHub rate-limit answer'} end
local maxOpen = tonumber(ARGV[3])
if maxOpen > 0 and redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 0 and redis.call('SCARD', KEYS[3]) >= maxOpen then
  return {0, -1, 'campaign has rollout.maxOpenPRs open pull requests'}
end
local wait, reason = 0, ''
local n = #KEYS - 3
for i = 1, n do
  local key = KEYS[3 + i]
  local limit, win, cost = tonumber(ARGV[2 + 3 * i]), tonumber(ARGV[3 + 3 * i]), tonumber(ARGV[4 + 3 * i])
  if cost > 0 and limit > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
    if cost > limit then cost = limit end
    local used = redis.call('ZCARD', key)
    if used + cost > limit then
      local e = redis.call('ZRANGE', key, used + cost - limit - 1, used + cost - limit - 1, 'WITHSCORES')
      local t = tonumber(e[2]) + win
      if t > wait then wait, reason = t, key end
    end
  end
end
if wait > 0 then return {0, wait, reason} end
local maxCost = 0
for i = 1, n do
  local c = tonumber(ARGV[4 + 3 * i])
  if c > maxCost then maxCost = c end
end
local seq = redis.call('INCRBY', KEYS[2], maxCost)
local members = {}
for j = 1, maxCost do members[j] = now .. ':' .. (seq - j) end
for i = 1, n do
  local key = KEYS[3 + i]
  local limit, win, cost = tonumber(ARGV[2 + 3 * i]), tonumber(ARGV[3 + 3 * i]), tonumber(ARGV[4 + 3 * i])
  if cost > 0 and limit > 0 then
    if cost > limit then cost = limit end
    for j = 1, cost do redis.call('ZADD', key, now, members[j]) end
    redis.call('PEXPIRE', key, win + 3600000)
  end
end
if maxOpen >= 0 then redis.call('SADD', KEYS[3], ARGV[2]) end
local out = {1}
for j = 1, maxCost do out[j + 1] = members[j] end
return out
`)

// pauseScript moves an installation's pause forward, never back.
var pauseScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilMs = tonumber(ARGV[1])
if untilMs > cur then redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[2])) end
return 1
`)

// throttle is the Redis side of the publisher.
type throttle struct {
	rdb redis.UniversalClient
	cfg Config
}

func (t *throttle) key(parts ...string) string {
	k := t.cfg.KeyPrefix
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

func (t *throttle) pauseKey(inst int64) string {
	return t.key("inst", strconv.FormatInt(inst, 10), "pause")
}

func (t *throttle) openKey(campaign int64) string {
	return t.key("campaign", strconv.FormatInt(campaign, 10), "open")
}

// charge is one reservation.
type charge struct {
	installation int64
	campaign     int64
	repo         string
	units        int  // content-creating requests/fields
	newPR        bool // counts against prsPerHour and maxOpenPRs
	prsPerHour   int
	maxOpenPRs   int
}

type window struct {
	key   string
	limit int
	span  time.Duration
	cost  int
}

// reservation is content units charged and not yet known to be needed.
type reservation struct {
	installation int64
	members      []string
}

// refund gives back n units of r (the plan needed fewer than reserved).
func (t *throttle) refund(ctx context.Context, r *reservation, n int) error {
	if r == nil || n <= 0 {
		return nil
	}
	n = min(n, len(r.members))
	ms := make([]any, n)
	for i := range ms {
		ms[i] = r.members[len(r.members)-1-i]
	}
	r.members = r.members[:len(r.members)-n]
	inst := strconv.FormatInt(r.installation, 10)
	pipe := t.rdb.Pipeline()
	for _, k := range []string{t.key("inst", inst, "content"), t.key("inst", inst, "content-hour"),
		t.key("global", "content"), t.key("global", "content-hour")} {
		pipe.ZRem(ctx, k, ms...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("publisher throttle: refund: %w", err)
	}
	return nil
}

// acquire charges c against every throttle or returns *Throttled.
func (t *throttle) acquire(ctx context.Context, c charge) (*reservation, error) {
	now := t.cfg.Clock.Now()
	inst := strconv.FormatInt(c.installation, 10)
	camp := strconv.FormatInt(c.campaign, 10)
	prCost := 0
	if c.newPR {
		prCost = 1
	}
	ws := []window{
		{t.key("inst", inst, "content"), t.cfg.ContentPerMinute, time.Minute, c.units},
		{t.key("inst", inst, "content-hour"), t.cfg.ContentPerHour, time.Hour, c.units},
		{t.key("global", "content"), t.cfg.GlobalContentPerMinute, time.Minute, c.units},
		{t.key("global", "content-hour"), t.cfg.GlobalContentPerHour, time.Hour, c.units},
		{t.key("campaign", camp, "prs"), c.prsPerHour, time.Hour, prCost},
	}
	// One key per window even though the minute and hour logs hold the
	// same entries: a minute log stays 80 long, so checking it is cheap.
	keys := []string{t.pauseKey(c.installation), t.key("seq"), t.openKey(c.campaign)}
	maxOpen := -1
	if c.newPR {
		maxOpen = max(c.maxOpenPRs, 0)
	}
	args := []any{now.UnixMilli(), c.repo, maxOpen, 0}
	names := map[string]string{}
	for _, w := range ws {
		names[w.key] = fmt.Sprintf("%s limit of %d per %s", strings.TrimPrefix(w.key, t.cfg.KeyPrefix), w.limit, w.span)
		keys = append(keys, w.key)
		args = append(args, w.limit, w.span.Milliseconds(), w.cost)
	}
	res, err := acquireScript.Run(ctx, t.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("publisher throttle: %w", err)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("publisher throttle: empty script answer")
	}
	if n, _ := res[0].(int64); n == 1 {
		r := &reservation{installation: c.installation}
		for _, m := range res[1:] {
			if s, ok := m.(string); ok {
				r.members = append(r.members, s)
			}
		}
		return r, nil
	}
	if len(res) < 3 {
		return nil, fmt.Errorf("publisher throttle: unexpected script answer %v", res)
	}
	until, _ := res[1].(int64)
	reason, _ := res[2].(string)
	u := time.UnixMilli(until)
	if until < 0 {
		u = now.Add(t.cfg.OpenPRsRecheck)
	}
	if n, ok := names[reason]; ok {
		reason = n
	}
	return nil, &Throttled{Until: u, Reason: reason}
}

// pausedUntil returns the installation's pause, zero when none.
func (t *throttle) pausedUntil(ctx context.Context, inst int64) (time.Time, error) {
	v, err := t.rdb.Get(ctx, t.pauseKey(inst)).Int64()
	if err == redis.Nil {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("publisher throttle: read pause: %w", err)
	}
	u := time.UnixMilli(v)
	if !u.After(t.cfg.Clock.Now()) {
		return time.Time{}, nil
	}
	return u, nil
}

// pause stops every worker from writing for the installation until until.
func (t *throttle) pause(ctx context.Context, inst int64, until time.Time) error {
	// The Redis TTL only cleans up: the stored time decides, because the
	// publisher's clock may be virtual.
	ttl := time.Until(until)
	if ttl < time.Hour {
		ttl = time.Hour
	}
	if err := pauseScript.Run(ctx, t.rdb, []string{t.pauseKey(inst)}, until.UnixMilli(), (ttl + time.Hour).Milliseconds()).Err(); err != nil {
		return fmt.Errorf("publisher throttle: pause installation %d: %w", inst, err)
	}
	return nil
}

// release forgets an open pull request (closed, merged, or never made).
func (t *throttle) release(ctx context.Context, campaign int64, repo string) error {
	if err := t.rdb.SRem(ctx, t.openKey(campaign), repo).Err(); err != nil {
		return fmt.Errorf("publisher throttle: release open pull request: %w", err)
	}
	return nil
}

// syncOpen replaces the campaign's set of repositories with open pull
// requests.
func (t *throttle) syncOpen(ctx context.Context, campaign int64, repos []string) error {
	key := t.openKey(campaign)
	_, err := t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		if len(repos) > 0 {
			ms := make([]any, len(repos))
			for i, r := range repos {
				ms[i] = strings.ToLower(r)
			}
			p.SAdd(ctx, key, ms...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publisher throttle: sync open pull requests of campaign %d: %w", campaign, err)
	}
	return nil
}
