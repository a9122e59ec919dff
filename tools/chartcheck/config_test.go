package chartcheck

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/runner/kube"
)

// settings are every environment variable the binary reads: the rows of
// the configuration reference (config.Reference, the table in
// docs/operations.md) and runner/kube's CAMPAIGN_KUBE_* settings.
func settings(t *testing.T) []string {
	t.Helper()
	row := regexp.MustCompile("^\\| (?:`([A-Z0-9_]+)`|—) \\| `[^`]+` \\|.*\\|$")
	envInDoc := regexp.MustCompile(`\benv ([A-Z][A-Z0-9_]+)`)
	var out []string
	for _, line := range strings.Split(config.Reference(), "\n") {
		m := row.FindStringSubmatch(line)
		switch {
		case m == nil:
		case m[1] != "":
			out = append(out, m[1])
		default: // a YAML-only row whose doc names its env form
			if d := envInDoc.FindStringSubmatch(line); d != nil {
				out = append(out, d[1])
			} else {
				t.Errorf("reference row without an environment variable: %s", line)
			}
		}
	}
	if len(out) < 40 {
		t.Fatalf("read only %d settings from config.Reference(); has its format changed?", len(out))
	}
	return append(out, kubeSettings(reflect.TypeFor[kube.Config](), "")...)
}

// kubeSettings lists the env names config.ApplyEnv reads into t.
func kubeSettings(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if env := f.Tag.Get("env"); env != "" {
			out = append(out, prefix+env)
		} else if f.Type.Kind() == reflect.Struct {
			out = append(out, kubeSettings(f.Type, prefix+f.Tag.Get("envPrefix"))...)
		}
	}
	return out
}

// secretSettings must never be in the ConfigMap.
var secretSettings = []string{
	"GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_WEBHOOK_SECRET", "DATABASE_URL", "REDIS_URL",
	"RUNNER_ARTIFACT_KEYS", "RUNNER_S3_ACCESS_KEY", "RUNNER_S3_SECRET_KEY",
	"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
}

// TestEverySettingIsWired: values.yaml documents every setting under
// config (or secrets, for the secret ones), and a value given there
// reaches the pods' environment.
func TestEverySettingIsWired(t *testing.T) {
	all := settings(t)
	defaults := loadChart(t).Values
	cfgVals, _ := defaults["config"].(map[string]any)
	secVals, _ := defaults["secrets"].(map[string]any)
	vals := map[string]any{"config": map[string]any{}, "secrets": map[string]any{}}
	for _, name := range all {
		_, inConfig := cfgVals[name]
		_, inSecrets := secVals[name]
		secret := slices.Contains(secretSettings, name)
		switch {
		case secret && !inSecrets, !secret && !inConfig, inConfig && inSecrets:
			t.Errorf("%s: add it to deploy/helm/campaignbot/values.yaml under %s, documented", name, map[bool]string{true: "secrets", false: "config"}[secret])
			continue
		}
		vals[map[bool]string{true: "secrets", false: "config"}[secret]].(map[string]any)[name] = "v-" + name
	}
	for k := range cfgVals {
		if !slices.Contains(all, k) {
			t.Errorf("values.yaml config.%s is not a setting of the binary", k)
		}
	}
	objs := render(t, vals)
	cm := only[*corev1.ConfigMap](t, objs, "ConfigMap", "-env")
	sec := only[*corev1.Secret](t, objs, "Secret", "-env")
	for _, name := range all {
		got, inCM := cm.Data[name]
		if b, ok := sec.Data[name]; ok {
			if inCM {
				t.Errorf("%s is in both the ConfigMap and the Secret", name)
			}
			got = string(b)
		}
		if got != "v-"+name {
			t.Errorf("%s reaches the pods as %q, want the value given", name, got)
		}
		if inCM && slices.Contains(secretSettings, name) {
			t.Errorf("secret %s is in the ConfigMap", name)
		}
	}
	for _, d := range []string{"-server", "-worker"} {
		dep := only[*appsv1.Deployment](t, objs, "Deployment", d)
		var refs []string
		for _, e := range dep.Spec.Template.Spec.Containers[0].EnvFrom {
			switch {
			case e.ConfigMapRef != nil:
				refs = append(refs, e.ConfigMapRef.Name)
			case e.SecretRef != nil:
				refs = append(refs, e.SecretRef.Name)
			}
		}
		if !slices.Equal(refs, []string{cm.Name, sec.Name}) {
			t.Errorf("%s reads %v, want the ConfigMap and the Secret", dep.Name, refs)
		}
	}
}

func testKey(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// podEnv is the environment a container gets from the chart's ConfigMap
// and Secret (envFrom), as config.Lookup.
func podEnv(t *testing.T, objs []object) config.Lookup {
	t.Helper()
	env := map[string]string{}
	for k, v := range only[*corev1.ConfigMap](t, objs, "ConfigMap", "-env").Data {
		env[k] = v
	}
	for k, v := range only[*corev1.Secret](t, objs, "Secret", "-env").Data {
		env[k] = string(v)
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestConfigurationLoads: what the chart derives is accepted by the binary
// and points at the objects the chart made: the server listens on the
// container port, the Jobs' namespace, ServiceAccount and image are the
// chart's, the artifact URL is the server's Service, the artifact
// directory is the shared volume.
func TestConfigurationLoads(t *testing.T) {
	if _, err := config.Load("", podEnv(t, render(t, nil))); err != nil {
		t.Fatalf("the default values do not load: %v", err)
	}
	objs := render(t, map[string]any{
		"image": map[string]any{"digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		"config": map[string]any{
			"GITHUB_APP_INTEGRATION_ID":        12345, // a YAML number: must not become 1.2345e+04
			"CAMPAIGN_MAX_WEBHOOK_BYTES":       26214400,
			"CAMPAIGN_CONTROL_REPO":            "acme/campaigns",
			"CAMPAIGN_ADMINS":                  "alice,bob",
			"PUBLISHER_KILL_SWITCH":            true,
			"CAMPAIGN_KUBE_LABELS":             "team=platform",
			"CAMPAIGN_KUBE_IMAGE_PULL_SECRETS": "regcred",
			"CAMPAIGN_KUBE_AGENT_CPU_LIMIT":    "2",
			"CAMPAIGN_KUBE_TOLERATIONS":        `[{"key":"dedicated","operator":"Equal","value":"batch","effect":"NoSchedule"}]`,
		},
		"secrets": map[string]any{
			"GITHUB_APP_PRIVATE_KEY":    testKey(t),
			"GITHUB_APP_WEBHOOK_SECRET": "s3cret",
			"DATABASE_URL":              "postgres://cb:pw@postgres:5432/campaignbot?sslmode=require",
			"REDIS_URL":                 "redis://:pw@redis:6379/0",
			"RUNNER_ARTIFACT_KEYS":      strings.Repeat("k", 32),
		},
	})
	lookup := podEnv(t, objs)
	cfg, err := config.Load("", lookup)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, role := range []config.Role{config.RoleServer, config.RoleWorker, config.RoleMigrate} {
		c := cfg
		if err := c.Validate(role); err != nil {
			t.Errorf("%s: %v", role, err)
		}
	}
	if cfg.GitHub.App.IntegrationID != 12345 || cfg.Campaign.MaxWebhookBytes != 26214400 || !cfg.Publisher.KillSwitch ||
		!slices.Equal(cfg.Campaign.Admins, []string{"alice", "bob"}) || cfg.Campaign.ControlRepo != "acme/campaigns" {
		t.Errorf("values did not arrive intact: %+v %+v %+v", cfg.GitHub.App.IntegrationID, cfg.Campaign, cfg.Publisher)
	}

	server := only[*appsv1.Deployment](t, objs, "Deployment", "-server")
	worker := only[*appsv1.Deployment](t, objs, "Deployment", "-worker")
	_, port, err := net.SplitHostPort(cfg.Campaign.HTTPAddr)
	if err != nil || port != "8080" || server.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 8080 {
		t.Errorf("server listens on %s, container port %d", cfg.Campaign.HTTPAddr, server.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort)
	}
	if host, _, _ := net.SplitHostPort(cfg.Campaign.HTTPAddr); host == "127.0.0.1" || host == "localhost" {
		t.Errorf("server listens on loopback (%s): the Service cannot reach it", cfg.Campaign.HTTPAddr)
	}
	if _, wport, err := net.SplitHostPort(cfg.Worker.HTTPAddr); err != nil || wport != fmt.Sprint(worker.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort) {
		t.Errorf("worker health endpoint on %q, container port %d", cfg.Worker.HTTPAddr, worker.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort)
	}
	if cfg.Runner.Executor != "kube" {
		t.Errorf("executor %s, want kube", cfg.Runner.Executor)
	}
	svc := only[*corev1.Service](t, objs, "Service", "-server")
	u, err := url.Parse(cfg.Runner.ArtifactURL)
	if err != nil || u.Hostname() != svc.Name+"."+releaseNS+".svc" || u.Port() != "8080" || u.Path != "/artifacts/v1" {
		t.Errorf("RUNNER_ARTIFACT_URL %q is not the server Service's artifact proxy", cfg.Runner.ArtifactURL)
	}
	for _, d := range []*appsv1.Deployment{server, worker} {
		var mounted bool
		for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
			mounted = mounted || (m.Name == "artifacts" && m.MountPath == cfg.Runner.ArtifactDir)
		}
		if !mounted {
			t.Errorf("%s does not mount the shared artifact volume at RUNNER_ARTIFACT_DIR %s", d.Name, cfg.Runner.ArtifactDir)
		}
	}

	kcfg := kube.DefaultConfig()
	if err := config.ApplyEnv(&kcfg, lookup); err != nil {
		t.Fatalf("kube settings: %v", err)
	}
	if err := kcfg.Validate(); err != nil {
		t.Fatalf("kube settings: %v", err)
	}
	role := only[*corev1.ServiceAccount](t, objs, "ServiceAccount", "campaignbot-task")
	if kcfg.Namespace != role.Namespace || kcfg.ServiceAccountName != role.Name {
		t.Errorf("Jobs run in %s as %s; the chart made %s/%s", kcfg.Namespace, kcfg.ServiceAccountName, role.Namespace, role.Name)
	}
	if img := worker.Spec.Template.Spec.Containers[0].Image; kcfg.AgentImage != img || !strings.Contains(img, "@sha256:") {
		t.Errorf("agent image %s, worker image %s: want the same pinned image", kcfg.AgentImage, img)
	}
	if !reflect.DeepEqual(kcfg.Labels, map[string]string{"team": "platform"}) || !slices.Equal(kcfg.ImagePullSecrets, []string{"regcred"}) ||
		kcfg.AgentResources.CPULimit != "2" || kcfg.StepResources.CPULimit != kube.DefaultConfig().StepResources.CPULimit ||
		!reflect.DeepEqual(kcfg.Tolerations, []kube.Toleration{{Key: "dedicated", Operator: "Equal", Value: "batch", Effect: "NoSchedule"}}) {
		t.Errorf("kube settings did not arrive intact: %+v", kcfg)
	}
}
