package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite docs/operations.md's configuration reference")

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func testKey(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != DefaultDatabaseURL || cfg.RedisURL != DefaultRedisURL || cfg.Campaign.HTTPAddr != DefaultHTTPAddr {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	if cfg.Campaign.SpecPath != "campaigns/" {
		t.Fatalf("spec path default = %q", cfg.Campaign.SpecPath)
	}
}

func TestEveryMissingValueNamedInOneError(t *testing.T) {
	cfg, err := Load("", env(map[string]string{"DATABASE_URL": "mysql://x", "REDIS_URL": "", "CAMPAIGN_LOG_FORMAT": "xml"}))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(RoleServer)
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	for _, want := range []string{
		"DATABASE_URL", "REDIS_URL", "GITHUB_APP_WEBHOOK_SECRET", "GITHUB_APP_INTEGRATION_ID",
		"GITHUB_APP_PRIVATE_KEY", "GITHUB_V3_API_URL", "GITHUB_V4_API_URL", "CAMPAIGN_LOG_FORMAT",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %s:\n%s", want, msg)
		}
	}
	if n := len(err.(Problems)); n != 8 {
		t.Errorf("got %d problems, want 8:\n%s", n, msg)
	}
}

func TestBadEnvValuesAllReported(t *testing.T) {
	_, err := Load("", env(map[string]string{
		"GITHUB_APP_INTEGRATION_ID":      "abc",
		"CAMPAIGN_WORKER_CONCURRENCY":    "many",
		"CAMPAIGN_WORKER_SWEEP_INTERVAL": "soon",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"GITHUB_APP_INTEGRATION_ID", "CAMPAIGN_WORKER_CONCURRENCY", "CAMPAIGN_WORKER_SWEEP_INTERVAL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %s in %v", want, err)
		}
	}
}

func TestFileThenEnvOverride(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(keyPath, []byte(testKey(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "c.yaml")
	yaml := `
github:
  v3_api_url: https://ghe.example.com/api/v3/
  v4_api_url: https://ghe.example.com/api/graphql
  app:
    integration_id: 42
    webhook_secret: s3cret
    private_key: ` + keyPath + `
redis_url: redis://127.0.0.1:6379/3
worker:
  concurrency: 7
  sweep_interval: 10s
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file, env(map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/5", "CAMPAIGN_WORKER_CONCURRENCY": "9"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RedisURL != "redis://127.0.0.1:6379/5" || cfg.Worker.Concurrency != 9 || cfg.Worker.SweepInterval != 10*time.Second {
		t.Fatalf("override order wrong: %+v", cfg)
	}
	if err := cfg.Validate(RoleWorker); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.GitHub.App.PrivateKey, "-----BEGIN") {
		t.Fatal("private key path was not resolved to the PEM")
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("databse_url: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file, env(nil))
	if err == nil || !strings.Contains(err.Error(), "databse_url") {
		t.Fatalf("want unknown-field error, got %v", err)
	}
}

func TestPrivateKeyRejectedWhenNotRSA(t *testing.T) {
	cfg := Default()
	cfg.GitHub.V3APIURL, cfg.GitHub.V4APIURL = "https://x/", "https://x/graphql"
	cfg.GitHub.App.IntegrationID = 1
	cfg.GitHub.App.PrivateKey = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
	err := cfg.Validate(RoleWorker)
	if err == nil || !strings.Contains(err.Error(), "GITHUB_APP_PRIVATE_KEY") {
		t.Fatalf("want private key problem, got %v", err)
	}
}

// TestReferenceIsCurrent keeps docs/operations.md's configuration
// reference equal to what the types say.
func TestReferenceIsCurrent(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- config-reference:begin -->\n", "<!-- config-reference:end -->"
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("docs/operations.md lacks the %q ... %q markers", begin, end)
	}
	if *update {
		s = s[:i+len(begin)] + Reference() + s[j:]
		if err := os.WriteFile("../docs/operations.md", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s[i+len(begin):j], Reference(); got != want {
		t.Fatalf("docs/operations.md's configuration reference is stale: run go test ./config/ -run Reference -update\n%s", want)
	}
}

func TestEveryTaggedFieldIsDocumented(t *testing.T) {
	for _, line := range strings.Split(strings.TrimSpace(Reference()), "\n")[2:] {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || strings.TrimSpace(cells[4]) == "" {
			t.Errorf("setting without a description: %s", line)
		}
	}
}
