package publisher

import "time"

// Config tunes a Publisher. Zero values take the defaults.
type Config struct {
	// ContentPerMinute and ContentPerHour are the installation's
	// content-creation budget: GitHub's secondary limits (80 and 500).
	ContentPerMinute int
	ContentPerHour   int
	// GlobalContentPerMinute and GlobalContentPerHour cap content creation
	// across all installations (0: no global cap).
	GlobalContentPerMinute int
	GlobalContentPerHour   int
	// OpenPRsRecheck is how long a publish held back by rollout.maxOpenPRs
	// waits before trying again (merges are not predictable).
	OpenPRsRecheck time.Duration
	// KeyPrefix prefixes every Redis key. It holds a hash tag so that the
	// throttle script's keys share one Redis Cluster slot.
	KeyPrefix string
	// Clock is the time source (default: wall clock).
	Clock Clock
	// MaxAttempts bounds attempts within one Publish for transient errors
	// (5xx, dropped connections) and lost races (default 4).
	MaxAttempts int
	// BackoffBase and BackoffMax bound the jittered exponential backoff
	// between attempts after a transient error (200ms, 5s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

func (c Config) withDefaults() Config {
	if c.ContentPerMinute == 0 {
		c.ContentPerMinute = 80
	}
	if c.ContentPerHour == 0 {
		c.ContentPerHour = 500
	}
	if c.OpenPRsRecheck == 0 {
		c.OpenPRsRecheck = 5 * time.Minute
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "{campaignbot-publisher}:"
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 4
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = 200 * time.Millisecond
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Second
	}
	return c
}
