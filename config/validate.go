package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Role names the part of the binary that is starting; each needs different settings.
type Role string

// Roles of the binary.
const (
	RoleServer  Role = "server"
	RoleWorker  Role = "worker"
	RoleMigrate Role = "migrate"
)

// Problems is every configuration problem found, reported as one error.
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return "invalid configuration: " + p[0]
	}
	return fmt.Sprintf("invalid configuration (%d problems):\n  - %s", len(p), strings.Join(p, "\n  - "))
}

// Validate checks what role needs and returns all problems in one error.
// It also resolves GITHUB_APP_PRIVATE_KEY given as a file path into the PEM.
func (c *Config) Validate(role Role) error {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if err := checkURL(c.DatabaseURL, "postgres", "postgresql"); err != nil {
		add("DATABASE_URL: %v", err)
	}
	if role != RoleMigrate {
		if err := checkURL(c.RedisURL, "redis", "rediss"); err != nil {
			add("REDIS_URL: %v", err)
		}
	}
	if role == RoleServer {
		if c.GitHub.App.WebhookSecret == "" {
			add("GITHUB_APP_WEBHOOK_SECRET is required (the secret set on the GitHub App's webhook)")
		}
		if _, _, err := net.SplitHostPort(c.Campaign.HTTPAddr); err != nil {
			add("CAMPAIGN_HTTP_ADDR: %q is not host:port", c.Campaign.HTTPAddr)
		}
		if c.Campaign.MaxWebhookBytes <= 0 {
			add("CAMPAIGN_MAX_WEBHOOK_BYTES must be positive")
		}
	}
	if role == RoleServer || role == RoleWorker {
		if c.GitHub.App.IntegrationID <= 0 {
			add("GITHUB_APP_INTEGRATION_ID is required (the App ID shown on the GitHub App's settings page)")
		}
		if c.GitHub.App.PrivateKey == "" {
			add("GITHUB_APP_PRIVATE_KEY is required (the App's PEM private key, or a path to it)")
		} else if key, err := resolvePrivateKey(c.GitHub.App.PrivateKey); err != nil {
			add("GITHUB_APP_PRIVATE_KEY: %v", err)
		} else {
			c.GitHub.App.PrivateKey = key
		}
		for _, u := range []struct{ name, value, example string }{
			{"GITHUB_V3_API_URL", c.GitHub.V3APIURL, "https://api.github.com/"},
			{"GITHUB_V4_API_URL", c.GitHub.V4APIURL, "https://api.github.com/graphql"},
		} {
			if u.value == "" {
				add("%s is required (%s for github.com)", u.name, u.example)
			} else if err := checkURL(u.value, "http", "https"); err != nil {
				add("%s: %v", u.name, err)
			}
		}
	}
	if role == RoleWorker {
		switch c.Runner.Executor {
		case "local", "kube":
		default:
			add("RUNNER_EXECUTOR: %q is not local or kube", c.Runner.Executor)
		}
		if err := checkURL(c.Runner.GitURL, "http", "https"); err != nil {
			add("RUNNER_GIT_URL: %v", err)
		} else if !strings.HasSuffix(c.Runner.GitURL, "/") {
			add("RUNNER_GIT_URL: %q must end with /", c.Runner.GitURL)
		}
		if c.Runner.Lease < 10*time.Second {
			add("RUNNER_LEASE must be at least 10s")
		}
		switch c.Runner.Sandbox {
		case "auto", "required", "off":
		default:
			add("RUNNER_SANDBOX: %q is not auto, required or off", c.Runner.Sandbox)
		}
		if c.Runner.Executor == "kube" {
			if len(c.Runner.ArtifactKeyList()) == 0 {
				add("RUNNER_ARTIFACT_KEYS is required with RUNNER_EXECUTOR=kube (Jobs upload results with signed tokens)")
			}
			if err := checkURL(c.Runner.ArtifactURL, "http", "https"); err != nil {
				add("RUNNER_ARTIFACT_URL (required with RUNNER_EXECUTOR=kube): %v", err)
			}
		}
		if c.Runner.MaxAttempts < 1 {
			add("RUNNER_MAX_ATTEMPTS must be at least 1")
		}
		if c.Campaign.DashboardEvery < time.Second {
			add("CAMPAIGN_DASHBOARD_EVERY must be at least 1s (GitHub rate limits)")
		}
		if c.Worker.Concurrency < 1 {
			add("CAMPAIGN_WORKER_CONCURRENCY must be at least 1")
		}
		if c.Worker.MaxRetry < 0 {
			add("CAMPAIGN_WORKER_MAX_RETRY must not be negative")
		}
		if c.Reconcile.SweepInterval < time.Second || c.Reconcile.DriftDebounce < 0 {
			add("CAMPAIGN_RECONCILE_SWEEP_INTERVAL must be at least 1s and CAMPAIGN_RECONCILE_DRIFT_DEBOUNCE not negative")
		}
		if c.Worker.SweepInterval <= 0 || c.Worker.SweepAge <= 0 {
			add("CAMPAIGN_WORKER_SWEEP_INTERVAL and CAMPAIGN_WORKER_SWEEP_AGE must be positive")
		}
	}
	if c.Runner.S3Bucket == "" && c.Runner.ArtifactDir == "" && role != RoleMigrate {
		add("RUNNER_ARTIFACT_DIR or RUNNER_S3_BUCKET must be set (where execution results are kept)")
	}
	for i, k := range c.Runner.ArtifactKeyList() {
		if len(k) < 32 {
			add("RUNNER_ARTIFACT_KEYS: key %d is %d bytes; each needs at least 32", i+1, len(k))
		}
	}
	if c.Campaign.RequiredApprovals < 1 || c.Campaign.RequiredApprovals > 10 {
		add("CAMPAIGN_REQUIRED_APPROVALS must be between 1 and 10")
	}
	if c.Campaign.ControlRepo != "" && strings.Count(c.Campaign.ControlRepo, "/") != 1 {
		add("CAMPAIGN_CONTROL_REPO: %q is not owner/name", c.Campaign.ControlRepo)
	}
	p = append(p, c.Slack.problems()...)
	switch c.Log.Format {
	case "json", "console":
	default:
		add("CAMPAIGN_LOG_FORMAT: %q is not json or console", c.Log.Format)
	}
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		add("CAMPAIGN_LOG_LEVEL: %q is not one of trace, debug, info, warn, error", c.Log.Level)
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

func checkURL(raw string, schemes ...string) error {
	if raw == "" {
		return fmt.Errorf("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
}

// resolvePrivateKey accepts the PEM itself or a path to a PEM file, and
// checks it holds an RSA key, so a wrong key fails at start-up, not at the
// first GitHub call.
func resolvePrivateKey(v string) (string, error) {
	pemText := v
	if !strings.Contains(v, "-----BEGIN") {
		data, err := os.ReadFile(v)
		if err != nil {
			return "", fmt.Errorf("neither a PEM key nor a readable file: %w", err)
		}
		pemText = string(data)
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return "", fmt.Errorf("no PEM block found")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		if _, err8 := x509.ParsePKCS8PrivateKey(block.Bytes); err8 != nil {
			return "", fmt.Errorf("not an RSA private key: %w", err)
		}
	}
	return pemText, nil
}
