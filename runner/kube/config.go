package kube

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Config says where and how the runner's Jobs run. The zero value of a
// field means its default (see DefaultConfig); yaml and env tags follow
// the CAMPAIGN_ prefix convention so the config package can load it
// without a translation table.
type Config struct {
	// Namespace holds the Jobs and their Secrets. It should be dedicated
	// to campaignbot: the runner's Role can read Secrets there.
	Namespace string `yaml:"namespace" env:"CAMPAIGN_KUBE_NAMESPACE"`
	// AgentImage is the campaignbot image; its entrypoint is the
	// campaignbot binary (clone and upload run `campaignbot agent ...`).
	AgentImage string `yaml:"agentImage" env:"CAMPAIGN_KUBE_AGENT_IMAGE"`
	// ImagePullPolicy for every container: Always, IfNotPresent or Never.
	ImagePullPolicy string `yaml:"imagePullPolicy" env:"CAMPAIGN_KUBE_IMAGE_PULL_POLICY"`
	// ImagePullSecrets are names of Secrets in Namespace.
	ImagePullSecrets []string `yaml:"imagePullSecrets" env:"CAMPAIGN_KUBE_IMAGE_PULL_SECRETS"`
	// ServiceAccountName runs the pods as this ServiceAccount. Its token is
	// never mounted; it exists for image pull secrets and policy matching.
	ServiceAccountName string `yaml:"serviceAccountName" env:"CAMPAIGN_KUBE_SERVICE_ACCOUNT"`

	// AgentResources apply to the clone and upload containers,
	// StepResources to every step container.
	AgentResources Resources `yaml:"agentResources" envPrefix:"CAMPAIGN_KUBE_AGENT_"`
	StepResources  Resources `yaml:"stepResources" envPrefix:"CAMPAIGN_KUBE_STEP_"`

	// WorkspaceSize limits the emptyDir holding the checkout; TmpSize the
	// emptyDir mounted at /tmp. Quantities, e.g. "2Gi".
	WorkspaceSize string `yaml:"workspaceSize" env:"CAMPAIGN_KUBE_WORKSPACE_SIZE"`
	TmpSize       string `yaml:"tmpSize" env:"CAMPAIGN_KUBE_TMP_SIZE"`

	NodeSelector map[string]string `yaml:"nodeSelector" env:"CAMPAIGN_KUBE_NODE_SELECTOR"`
	// Tolerations from the environment are JSON: [{"key":"dedicated","operator":"Equal","value":"batch","effect":"NoSchedule"}].
	Tolerations []Toleration `yaml:"tolerations" env:"CAMPAIGN_KUBE_TOLERATIONS"`
	// Labels are added to every Job, pod and Secret (e.g. for cost
	// allocation); they cannot override campaignbot's own labels.
	Labels map[string]string `yaml:"labels" env:"CAMPAIGN_KUBE_LABELS"`

	// DefaultStepTimeout is used for a step without a timeout.
	DefaultStepTimeout time.Duration `yaml:"defaultStepTimeout" env:"CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT"`
	// DeadlineMargin is added to the sum of the step timeouts to give the
	// Job's activeDeadlineSeconds: it pays for scheduling, image pulls,
	// the clone and the upload.
	DeadlineMargin time.Duration `yaml:"deadlineMargin" env:"CAMPAIGN_KUBE_DEADLINE_MARGIN"`
	// TTLAfterFinished lets Kubernetes delete a finished Job the runner
	// did not clean up itself (the worker died, or left it for adoption).
	TTLAfterFinished time.Duration `yaml:"ttlAfterFinished" env:"CAMPAIGN_KUBE_TTL_AFTER_FINISHED"`
	// LogTailBytes is how much of a failed container's log a StepError
	// carries.
	LogTailBytes int64 `yaml:"logTailBytes" env:"CAMPAIGN_KUBE_LOG_TAIL_BYTES"`
	// Resync is how often a waiting Execute re-reads its Job from the API
	// server in case the informer missed an event. The informer is the
	// fast path; this is the safety net.
	Resync time.Duration `yaml:"resync" env:"CAMPAIGN_KUBE_RESYNC"`
}

// Resources are a container's requests and limits as quantity strings.
type Resources struct {
	CPURequest              string `yaml:"cpuRequest" env:"CPU_REQUEST"`
	CPULimit                string `yaml:"cpuLimit" env:"CPU_LIMIT"`
	MemoryRequest           string `yaml:"memoryRequest" env:"MEMORY_REQUEST"`
	MemoryLimit             string `yaml:"memoryLimit" env:"MEMORY_LIMIT"`
	EphemeralStorageRequest string `yaml:"ephemeralStorageRequest" env:"EPHEMERAL_STORAGE_REQUEST"`
	EphemeralStorageLimit   string `yaml:"ephemeralStorageLimit" env:"EPHEMERAL_STORAGE_LIMIT"`
}

// Toleration mirrors corev1.Toleration with yaml tags.
type Toleration struct {
	Key      string `yaml:"key"`
	Operator string `yaml:"operator"` // Exists or Equal
	Value    string `yaml:"value"`
	Effect   string `yaml:"effect"` // NoSchedule, PreferNoSchedule, NoExecute
	// TolerationSeconds applies to NoExecute only; nil tolerates forever.
	TolerationSeconds *int64 `yaml:"tolerationSeconds"`
}

// DefaultConfig is the configuration used for every field left zero.
func DefaultConfig() Config {
	return Config{
		Namespace:       "campaignbot-jobs",
		AgentImage:      "ghcr.io/campaignbot/campaignbot:latest",
		ImagePullPolicy: string(corev1.PullIfNotPresent),
		AgentResources: Resources{
			CPURequest: "100m", CPULimit: "1",
			MemoryRequest: "128Mi", MemoryLimit: "512Mi",
			EphemeralStorageRequest: "512Mi", EphemeralStorageLimit: "3Gi",
		},
		StepResources: Resources{
			CPURequest: "250m", CPULimit: "2",
			MemoryRequest: "256Mi", MemoryLimit: "2Gi",
			EphemeralStorageRequest: "512Mi", EphemeralStorageLimit: "3Gi",
		},
		WorkspaceSize:      "2Gi",
		TmpSize:            "512Mi",
		DefaultStepTimeout: 10 * time.Minute,
		DeadlineMargin:     10 * time.Minute,
		TTLAfterFinished:   time.Hour,
		LogTailBytes:       16 << 10,
		Resync:             30 * time.Second,
	}
}

// withDefaults fills every zero field from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	str := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	str(&c.Namespace, d.Namespace)
	str(&c.AgentImage, d.AgentImage)
	str(&c.ImagePullPolicy, d.ImagePullPolicy)
	str(&c.WorkspaceSize, d.WorkspaceSize)
	str(&c.TmpSize, d.TmpSize)
	for _, r := range []struct{ v, def *Resources }{{&c.AgentResources, &d.AgentResources}, {&c.StepResources, &d.StepResources}} {
		str(&r.v.CPURequest, r.def.CPURequest)
		str(&r.v.CPULimit, r.def.CPULimit)
		str(&r.v.MemoryRequest, r.def.MemoryRequest)
		str(&r.v.MemoryLimit, r.def.MemoryLimit)
		str(&r.v.EphemeralStorageRequest, r.def.EphemeralStorageRequest)
		str(&r.v.EphemeralStorageLimit, r.def.EphemeralStorageLimit)
	}
	dur(&c.DefaultStepTimeout, d.DefaultStepTimeout)
	dur(&c.DeadlineMargin, d.DeadlineMargin)
	dur(&c.TTLAfterFinished, d.TTLAfterFinished)
	dur(&c.Resync, d.Resync)
	if c.LogTailBytes <= 0 {
		c.LogTailBytes = d.LogTailBytes
	}
	return c
}

// Validate reports every invalid field of c after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, msg := range validation.IsDNS1123Label(c.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q: %s", c.Namespace, msg))
	}
	switch corev1.PullPolicy(c.ImagePullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		errs = append(errs, fmt.Errorf("imagePullPolicy %q: want Always, IfNotPresent or Never", c.ImagePullPolicy))
	}
	if _, err := c.AgentResources.requirements(); err != nil {
		errs = append(errs, fmt.Errorf("agentResources: %w", err))
	}
	if _, err := c.StepResources.requirements(); err != nil {
		errs = append(errs, fmt.Errorf("stepResources: %w", err))
	}
	ws, wsErr := resource.ParseQuantity(c.WorkspaceSize)
	if wsErr != nil {
		errs = append(errs, fmt.Errorf("workspaceSize %q: %w", c.WorkspaceSize, wsErr))
	}
	tmp, tmpErr := resource.ParseQuantity(c.TmpSize)
	if tmpErr != nil {
		errs = append(errs, fmt.Errorf("tmpSize %q: %w", c.TmpSize, tmpErr))
	}
	if wsErr == nil && tmpErr == nil {
		// The kubelet counts emptyDir use against the pod's
		// ephemeral-storage limit (the largest init container's, or the
		// main container's): below workspace + tmp, a full workspace
		// gets the pod evicted instead of failing a write.
		need := ws.DeepCopy()
		need.Add(tmp)
		for name, r := range map[string]Resources{"agentResources": c.AgentResources, "stepResources": c.StepResources} {
			if lim, err := resource.ParseQuantity(r.EphemeralStorageLimit); err == nil && lim.Cmp(need) < 0 {
				errs = append(errs, fmt.Errorf("%s: ephemeral-storage limit %s is below workspaceSize + tmpSize (%s)", name, lim.String(), need.String()))
			}
		}
	}
	for k, v := range c.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("label key %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("label %q value %q: %s", k, v, msg))
		}
	}
	for _, t := range c.Tolerations {
		switch corev1.TolerationOperator(t.Operator) {
		case "", corev1.TolerationOpExists, corev1.TolerationOpEqual:
		default:
			errs = append(errs, fmt.Errorf("toleration %q: operator %q: want Exists or Equal", t.Key, t.Operator))
		}
	}
	return errors.Join(errs...)
}

// requirements parses r; every request and limit is set so that each
// container is admitted by a LimitRange/ResourceQuota that demands them.
func (r Resources) requirements() (corev1.ResourceRequirements, error) {
	out := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, f := range []struct {
		list corev1.ResourceList
		name corev1.ResourceName
		val  string
	}{
		{out.Requests, corev1.ResourceCPU, r.CPURequest},
		{out.Limits, corev1.ResourceCPU, r.CPULimit},
		{out.Requests, corev1.ResourceMemory, r.MemoryRequest},
		{out.Limits, corev1.ResourceMemory, r.MemoryLimit},
		{out.Requests, corev1.ResourceEphemeralStorage, r.EphemeralStorageRequest},
		{out.Limits, corev1.ResourceEphemeralStorage, r.EphemeralStorageLimit},
	} {
		q, err := resource.ParseQuantity(f.val)
		if err != nil {
			return out, fmt.Errorf("%s %q: %w", f.name, f.val, err)
		}
		f.list[f.name] = q
	}
	for name, lim := range out.Limits {
		if req := out.Requests[name]; req.Cmp(lim) > 0 {
			return out, fmt.Errorf("%s request %s exceeds its limit %s", name, req.String(), lim.String())
		}
	}
	return out, nil
}

func (t Toleration) toCore() corev1.Toleration {
	return corev1.Toleration{
		Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value,
		Effect: corev1.TaintEffect(t.Effect), TolerationSeconds: t.TolerationSeconds,
	}
}
