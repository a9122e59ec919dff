package kube

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/job.golden.yaml")

func goldenConfig() Config {
	return Config{
		Namespace:          "campaignbot-jobs",
		AgentImage:         "ghcr.io/campaignbot/campaignbot:v1.4.0",
		ImagePullSecrets:   []string{"ghcr"},
		ServiceAccountName: "campaignbot-task",
		NodeSelector:       map[string]string{"campaignbot.dev/pool": "tasks"},
		Tolerations:        []Toleration{{Key: "dedicated", Operator: "Equal", Value: "campaignbot", Effect: "NoSchedule"}},
		Labels:             map[string]string{"team": "platform"},
	}
}

func goldenRequest() runner.Request {
	req := testRequest("3f1c9a52-7d4e-4b8a-9c21-6e0f5a7b8c90",
		runner.Step{Name: "Bump Go", Image: "golang:1.26", Run: "go mod edit -go=1.26\ngo mod tidy", Timeout: 5 * time.Minute, Network: true,
			Env: map[string]string{"GOFLAGS": "-mod=mod", "GOPATH": "/tmp/go"}},
		runner.Step{Name: "gofmt", Image: "golang:1.26", Run: `gofmt -w $(git ls-files '*.go')`},
	)
	req.Limits = runner.Limits{MaxFiles: 50}
	return req
}

func TestJobGolden(t *testing.T) {
	job, err := buildJob(goldenConfig().withDefaults(), jobSpec{req: goldenRequest(), meta: TaskMeta{CampaignID: "17", RunID: "204"}, artifactURL: "https://artifacts.campaignbot.internal/v1/tasks/3f1c9a52-7d4e-4b8a-9c21-6e0f5a7b8c90"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := yaml.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "job.golden.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./runner/kube -run TestJobGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Job manifest differs from %s (rerun with -update if intended):\n%s", path, got)
	}
}

// TestJobSecurity checks every security-relevant field of the pod and of
// every container, so that a refactor cannot quietly drop one.
func TestJobSecurity(t *testing.T) {
	cfg := goldenConfig().withDefaults()
	req := goldenRequest()
	job, err := buildJob(cfg, jobSpec{req: req, artifactURL: "https://a/x"})
	if err != nil {
		t.Fatal(err)
	}
	spec := job.Spec
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s", what)
		}
	}
	check("backoffLimit 0", spec.BackoffLimit != nil && *spec.BackoffLimit == 0)
	check("created suspended", spec.Suspend != nil && *spec.Suspend)
	// 5m + the 10m default for gofmt + the 10m margin.
	check("activeDeadlineSeconds = steps + margin", spec.ActiveDeadlineSeconds != nil && *spec.ActiveDeadlineSeconds == 25*60)
	check("ttlSecondsAfterFinished", spec.TTLSecondsAfterFinished != nil && *spec.TTLSecondsAfterFinished == 3600)
	for _, l := range []map[string]string{job.Labels, spec.Template.Labels} {
		check("managed-by label", l[LabelManagedBy] == "campaignbot")
		check("task label", l[LabelTask] == req.TaskID)
	}

	pod := spec.Template.Spec
	check("restartPolicy Never", pod.RestartPolicy == corev1.RestartPolicyNever)
	check("automountServiceAccountToken false", pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken)
	check("enableServiceLinks false", pod.EnableServiceLinks != nil && !*pod.EnableServiceLinks)
	check("no host namespaces", !pod.HostNetwork && !pod.HostPID && !pod.HostIPC)
	check("no shareProcessNamespace", pod.ShareProcessNamespace == nil || !*pod.ShareProcessNamespace)
	psc := pod.SecurityContext
	check("pod securityContext", psc != nil)
	check("pod runAsNonRoot", psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	check("pod runAsUser 65532", psc.RunAsUser != nil && *psc.RunAsUser == 65532)
	check("pod runAsGroup 65532", psc.RunAsGroup != nil && *psc.RunAsGroup == 65532)
	check("pod fsGroup 65532", psc.FSGroup != nil && *psc.FSGroup == 65532)
	check("pod seccomp RuntimeDefault", psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault)

	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		check("volume "+v.Name+" is emptyDir or secret", (v.EmptyDir != nil) != (v.Secret != nil) && v.HostPath == nil)
		if v.EmptyDir != nil {
			check("emptyDir "+v.Name+" sizeLimit", v.EmptyDir.SizeLimit != nil && !v.EmptyDir.SizeLimit.IsZero())
		}
		if v.Secret != nil {
			check("secret volume "+v.Name+" projects one key", len(v.Secret.Items) == 1)
			check("secret volume "+v.Name+" mode 0440", v.Secret.DefaultMode != nil && *v.Secret.DefaultMode == 0o440)
		}
	}
	check("workspace emptyDir", volumes[volWorkspace].EmptyDir != nil)
	check("tmp emptyDir", volumes[volTmp].EmptyDir != nil)

	all := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	check("containers: clone, 2 steps, upload", len(all) == 4 && all[0].Name == "clone" && all[1].Name == "bump-go" && all[2].Name == "gofmt" && all[3].Name == "upload")
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", c.Name)
			continue
		}
		check(c.Name+": runAsNonRoot", sc.RunAsNonRoot != nil && *sc.RunAsNonRoot)
		check(c.Name+": runAsUser 65532", sc.RunAsUser != nil && *sc.RunAsUser == 65532)
		check(c.Name+": runAsGroup 65532", sc.RunAsGroup != nil && *sc.RunAsGroup == 65532)
		check(c.Name+": privileged false", sc.Privileged != nil && !*sc.Privileged)
		check(c.Name+": allowPrivilegeEscalation false", sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation)
		check(c.Name+": readOnlyRootFilesystem", sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem)
		check(c.Name+": capabilities drop ALL, add none", sc.Capabilities != nil && len(sc.Capabilities.Drop) == 1 && sc.Capabilities.Drop[0] == "ALL" && len(sc.Capabilities.Add) == 0)
		check(c.Name+": seccomp RuntimeDefault", sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault)
		check(c.Name+": no procMount/SELinux/AppArmor overrides", sc.ProcMount == nil && sc.SELinuxOptions == nil && sc.AppArmorProfile == nil)
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			_, req := c.Resources.Requests[r]
			_, lim := c.Resources.Limits[r]
			check(c.Name+": request and limit for "+string(r), req && lim)
		}
		check(c.Name+": no envFrom", len(c.EnvFrom) == 0)
		check(c.Name+": no ports", len(c.Ports) == 0)
		check(c.Name+": not stdin/tty", !c.Stdin && !c.TTY)
		for _, e := range c.Env {
			check(c.Name+": env "+e.Name+" is a plain value (no secretKeyRef)", e.ValueFrom == nil)
		}
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m.MountPath
			if volumes[m.Name].Secret != nil {
				check(c.Name+": secret mount read-only", m.ReadOnly)
			}
		}
		check(c.Name+": workspace at /workspace", mounts[volWorkspace] == "/workspace")
		check(c.Name+": tmp at /tmp", mounts[volTmp] == "/tmp")
		// Tokens: the clone token only in clone, the upload token only in
		// upload, and nothing secret in a step.
		_, hasClone := mounts[volCloneToken]
		_, hasUpload := mounts[volUploadToken]
		check(c.Name+": clone token mounted only into clone", hasClone == (c.Name == cloneContainer))
		check(c.Name+": upload token mounted only into upload", hasUpload == (c.Name == uploadContainer))
	}
	check("clone token volume uses the clone key", volumes[volCloneToken].Secret.Items[0].Key == secretKeyClone)
	check("upload token volume uses the upload key", volumes[volUploadToken].Secret.Items[0].Key == secretKeyUpload)
	for _, c := range pod.InitContainers[1:] {
		for _, e := range c.Env {
			check(c.Name+": no token in step env", !strings.Contains(strings.ToLower(e.Name), "token"))
		}
	}
}

func TestContainerNames(t *testing.T) {
	long := strings.Repeat("x", 70)
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"Bump Go", "gofmt"}, []string{"bump-go", "gofmt"}},
		{[]string{"clone", "upload"}, []string{"step-clone", "step-upload"}},
		{[]string{"a", "A", "a!"}, []string{"a", "a-2", "a-3"}},
		{[]string{"", "!!!"}, []string{"step-1", "step-2"}},
		{[]string{long, long}, []string{long[:63], long[:61] + "-2"}},
		{[]string{"Étape 1: run", "--x--"}, []string{"tape-1-run", "x"}},
	}
	for _, tt := range tests {
		got := containerNames(tt.in)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("containerNames(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadTail(t *testing.T) {
	tests := []struct {
		in        string
		max       int64
		want      string
		truncated bool
	}{
		{"short", 10, "short", false},
		{"0123456789", 10, "0123456789", false},
		{"0123456789abc", 10, "3456789abc", true},
		{strings.Repeat("a", 100000) + "END", 5, "aaEND", true},
		{"x", 0, "", false},
	}
	for _, tt := range tests {
		got, tr, err := readTail(strings.NewReader(tt.in), tt.max)
		if err != nil || got != tt.want || tr != tt.truncated {
			t.Errorf("readTail(%d bytes, %d) = %q, %v, %v; want %q, %v", len(tt.in), tt.max, got, tr, err, tt.want, tt.truncated)
		}
	}
}

func TestEnvEscapingRoundTrips(t *testing.T) {
	for _, v := range []string{"plain", "$HOME", "$(date)", "$$", "a$$$b", "echo $((1+2))"} {
		if got := unescapeEnv(escapeEnv(v)); got != v {
			t.Errorf("%q -> %q -> %q", v, escapeEnv(v), got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"zero is valid", func(*Config) {}, ""},
		{"namespace", func(c *Config) { c.Namespace = "Not_Valid" }, "namespace"},
		{"pull policy", func(c *Config) { c.ImagePullPolicy = "Sometimes" }, "imagePullPolicy"},
		{"quantity", func(c *Config) { c.StepResources.MemoryLimit = "lots" }, "stepResources"},
		{"request over limit", func(c *Config) { c.AgentResources.CPURequest = "4"; c.AgentResources.CPULimit = "1" }, "exceeds its limit"},
		{"workspace size", func(c *Config) { c.WorkspaceSize = "big" }, "workspaceSize"},
		{"workspace over the pod's storage", func(c *Config) { c.WorkspaceSize = "10Gi" }, "below workspaceSize + tmpSize"},
		{"label", func(c *Config) { c.Labels = map[string]string{"ok": "not ok!"} }, "label"},
		{"toleration", func(c *Config) { c.Tolerations = []Toleration{{Key: "k", Operator: "Maybe"}} }, "operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLabelsSkipInvalidCampaignIDs(t *testing.T) {
	l := objectLabels(DefaultConfig(), "t", TaskMeta{CampaignID: strings.Repeat("c", 64), RunID: "r-1"})
	if _, ok := l[LabelCampaign]; ok {
		t.Error("a 64-character campaign id became a label")
	}
	if l[LabelRun] != "r-1" {
		t.Errorf("run label = %q", l[LabelRun])
	}
}
