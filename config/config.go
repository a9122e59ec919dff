// Package config holds campaignbot's typed configuration: one optional YAML
// file with environment overrides. Names follow go-githubapp for the App
// (GITHUB_*), DATABASE_URL and REDIS_URL for the stores, and a prefix per
// service for the rest (CAMPAIGN_, PUBLISHER_, RUNNER_, SLACK_).
package config

import (
	"time"

	"github.com/palantir/go-githubapp/githubapp"
)

// Defaults used when neither the file nor the environment sets a value.
const (
	DefaultDatabaseURL = "postgres://127.0.0.1:5432/campaignbot?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultHTTPAddr    = "127.0.0.1:8080"
)

// Config is the whole configuration of every role of the binary.
type Config struct {
	// GitHub is go-githubapp's own configuration (V3/V4 URLs, App id, key, secret).
	GitHub githubapp.Config `yaml:"github"`

	DatabaseURL string `yaml:"database_url" env:"DATABASE_URL"`
	RedisURL    string `yaml:"redis_url" env:"REDIS_URL"`

	Campaign Campaign `yaml:"campaign"`
	Worker   Worker   `yaml:"worker"`
	Log      Log      `yaml:"log"`
}

// Campaign configures the HTTP server and the campaign service (CAMPAIGN_).
type Campaign struct {
	HTTPAddr        string        `yaml:"http_addr" env:"CAMPAIGN_HTTP_ADDR"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"CAMPAIGN_SHUTDOWN_TIMEOUT"`
	// MaxWebhookBytes caps a webhook body; GitHub caps payloads at 25 MB.
	MaxWebhookBytes int64 `yaml:"max_webhook_bytes" env:"CAMPAIGN_MAX_WEBHOOK_BYTES"`
	// DebugAddr, when set, serves Go's pprof profiles on that (loopback) address.
	DebugAddr string `yaml:"debug_addr" env:"CAMPAIGN_DEBUG_ADDR"`
	// ControlRepo is the owner/name of the repository holding campaign specs.
	ControlRepo string `yaml:"control_repo" env:"CAMPAIGN_CONTROL_REPO"`
	// SpecPath is the folder of the control repository that holds specs.
	SpecPath string `yaml:"spec_path" env:"CAMPAIGN_SPEC_PATH"`
}

// Worker configures the Asynq worker (CAMPAIGN_WORKER_).
type Worker struct {
	Concurrency int `yaml:"concurrency" env:"CAMPAIGN_WORKER_CONCURRENCY"`
	// MaxRetry is how many times a failing task is retried before it is
	// archived (the dead-letter queue).
	MaxRetry int `yaml:"max_retry" env:"CAMPAIGN_WORKER_MAX_RETRY"`
	// SweepInterval is how often stored deliveries whose queue entry is gone
	// are enqueued again.
	SweepInterval time.Duration `yaml:"sweep_interval" env:"CAMPAIGN_WORKER_SWEEP_INTERVAL"`
	// SweepAge is how old a not-yet-processed delivery must be before the
	// sweeper considers its queue entry lost.
	SweepAge        time.Duration `yaml:"sweep_age" env:"CAMPAIGN_WORKER_SWEEP_AGE"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"CAMPAIGN_WORKER_SHUTDOWN_TIMEOUT"`
}

// Log configures logging (CAMPAIGN_LOG_).
type Log struct {
	Format string `yaml:"format" env:"CAMPAIGN_LOG_FORMAT"` // json | console
	Level  string `yaml:"level" env:"CAMPAIGN_LOG_LEVEL"`   // debug | info | warn | error
}

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		DatabaseURL: DefaultDatabaseURL,
		RedisURL:    DefaultRedisURL,
		Campaign: Campaign{
			HTTPAddr:        DefaultHTTPAddr,
			ShutdownTimeout: 20 * time.Second,
			MaxWebhookBytes: 25 << 20,
			SpecPath:        "campaigns/",
		},
		Worker: Worker{
			Concurrency:     20,
			MaxRetry:        8,
			SweepInterval:   30 * time.Second,
			SweepAge:        2 * time.Minute,
			ShutdownTimeout: 25 * time.Second,
		},
		Log: Log{Format: "json", Level: "info"},
	}
}
