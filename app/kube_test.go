package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/runner/artifacts"
)

func TestKubeExecutorConfiguration(t *testing.T) {
	cfg := config.Default()
	cfg.Runner.ArtifactKeys = strings.Repeat("k", 32)
	cfg.Runner.ArtifactURL = "http://campaignbot:8080/artifacts/v1"

	t.Setenv("KUBECONFIG", "")
	if _, err := newKubeExecutor(cfg, repoTokens{}, artifacts.Results{}); err == nil || !strings.Contains(err.Error(), "KUBECONFIG is not set") {
		t.Fatalf("outside a cluster without KUBECONFIG: %v", err)
	}
	t.Setenv("CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT", "soon")
	if _, err := newKubeExecutor(cfg, repoTokens{}, artifacts.Results{}); err == nil || !strings.Contains(err.Error(), "CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT") {
		t.Fatalf("bad kube setting: %v", err)
	}
	t.Setenv("CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT", "")
	os.Unsetenv("CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT")

	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	e, err := newKubeExecutor(cfg, repoTokens{}, artifacts.Results{})
	if err != nil || e == nil {
		t.Fatalf("with a kubeconfig: %v", err)
	}
	e.Close()

	cfg.Runner.Executor = "kube"
	cfg.Runner.ArtifactKeys = ""
	if err := cfg.Validate(config.RoleWorker); err == nil || !strings.Contains(err.Error(), "RUNNER_ARTIFACT_KEYS is required") {
		t.Fatalf("kube without artifact keys: %v", err)
	}
}
