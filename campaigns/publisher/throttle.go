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
// Publishes the installation's budget turns away wait in a line (a sorted
// set in the order they were first turned away). Each is told the time its
// turn comes, computed by playing the sliding windows forward for the
// units of the publishes ahead of it, so a thousand waiting publishes wake
// one slot after another instead of all at once at every window boundary,
// and the oldest goes first. The line only spreads wake-ups; the windows
// alone decide admission, so a wrong guess costs a reschedule, never a
// limit. A waiter that does not come back within lineStale of its turn is
// dropped from the line.
//
// KEYS: 1 pause, 2 sequence, 3 open-PR set, 4 line, 5 line turns (hash),
// 6.. window sets (the first two: the installation's minute and hour).
// ARGV: 1 now(ms), 2 repo, 3 maxOpen (0: no limit, -1: not a new PR),
// 4 line member, 5 line staleness(ms), then per window: limit, window(ms),
// cost.
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
local W = 5
local n = #KEYS - W
local function arg(i, k) return tonumber(ARGV[W + 3 * (i - 1) + k]) end
local wait, reason, which = 0, '', 0
for i = 1, n do
  local key = KEYS[W + i]
  local limit, win, cost = arg(i, 1), arg(i, 2), arg(i, 3)
  if cost > 0 and limit > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
    if cost > limit then cost = limit end
    local used = redis.call('ZCARD', key)
    if used + cost > limit then
      local e = redis.call('ZRANGE', key, used + cost - limit - 1, used + cost - limit - 1, 'WITHSCORES')
      local t = tonumber(e[2]) + win
      if t > wait then wait, reason, which = t, key, i end
    end
  end
end
if wait > 0 then
  if which > 2 then return {0, wait, reason} end
  -- Take a place in the line and compute this publish's turn.
  local member, stale = ARGV[4], tonumber(ARGV[5])
  -- Scored by arrival (the shared sequence), not by time: publishes
  -- turned away in the same millisecond keep their order.
  if not redis.call('ZSCORE', KEYS[4], member) then
    redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[2]), member)
  end
  local line = redis.call('ZRANGE', KEYS[4], 0, -1)
  local turns = {}
  for from = 1, #line, 1000 do
    local part = redis.call('HMGET', KEYS[5], unpack(line, from, math.min(from + 999, #line)))
    for j, v in ipairs(part) do turns[from + j - 1] = v end
  end
  local ahead = 0
  for j, m in ipairs(line) do
    if m == member then break end
    local turn = tonumber(turns[j] or '0')
    if turn > 0 and turn < now - stale then
      redis.call('ZREM', KEYS[4], m)
      redis.call('HDEL', KEYS[5], m)
    else
      ahead = ahead + 1
    end
  end
  local mLimit, mWin, cost = arg(1, 1), arg(1, 2), arg(1, 3)
  local hLimit, hWin = arg(2, 1), arg(2, 2)
  local t = {}
  for idx, v in ipairs(redis.call('ZRANGE', KEYS[W + 2], 0, -1, 'WITHSCORES')) do
    if idx % 2 == 0 then t[#t + 1] = tonumber(v) end
  end
  local h = #t
  for k = h + 1, h + (ahead + 1) * cost do
    local at = now
    if mLimit > 0 and k - mLimit >= 1 and t[k - mLimit] + mWin > at then at = t[k - mLimit] + mWin end
    if hLimit > 0 and k - hLimit >= 1 and t[k - hLimit] + hWin > at then at = t[k - hLimit] + hWin end
    t[k] = at
  end
  local turn = t[h + (ahead + 1) * cost]
  if turn < wait then turn = wait end
  redis.call('HSET', KEYS[5], member, turn)
  redis.call('PEXPIRE', KEYS[4], turn - now + stale + 3600000)
  redis.call('PEXPIRE', KEYS[5], turn - now + stale + 3600000)
  return {0, turn, reason}
end
redis.call('ZREM', KEYS[4], ARGV[4])
redis.call('HDEL', KEYS[5], ARGV[4])
local maxCost = 0
for i = 1, n do
  if arg(i, 3) > maxCost then maxCost = arg(i, 3) end
end
local seq = redis.call('INCRBY', KEYS[2], maxCost)
local members = {}
for j = 1, maxCost do members[j] = now .. ':' .. (seq - j) end
for i = 1, n do
  local key = KEYS[W + i]
  local limit, win, cost = arg(i, 1), arg(i, 2), arg(i, 3)
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

// lineStale is how late past its turn a waiting publish may come back
// before it loses its place in the line (its task died or was cancelled).
const lineStale = 10 * time.Minute

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
	keys := []string{t.pauseKey(c.installation), t.key("seq"), t.openKey(c.campaign),
		t.key("inst", inst, "line"), t.key("inst", inst, "line-turns")}
	maxOpen := -1
	if c.newPR {
		maxOpen = max(c.maxOpenPRs, 0)
	}
	args := []any{now.UnixMilli(), c.repo, maxOpen, camp + ":" + c.repo, lineStale.Milliseconds()}
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
