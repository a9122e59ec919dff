package kube

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Container names of the agent's two halves; steps get their slugs.
const (
	cloneContainer  = "clone"
	uploadContainer = "upload"
)

// Environment of the agent containers: the contract with
// `campaignbot agent clone` and `campaignbot agent upload`.
const (
	EnvTaskID          = "CAMPAIGNBOT_TASK_ID"
	EnvRepository      = "CAMPAIGNBOT_REPOSITORY"
	EnvCloneURL        = "CAMPAIGNBOT_CLONE_URL"
	EnvBaseBranch      = "CAMPAIGNBOT_BASE_BRANCH"
	EnvBaseSHA         = "CAMPAIGNBOT_BASE_SHA"
	EnvWorkspace       = "CAMPAIGNBOT_WORKSPACE"
	EnvCloneTokenFile  = "CAMPAIGNBOT_CLONE_TOKEN_FILE"
	EnvAllow           = "CAMPAIGNBOT_ALLOW" // JSON array of patterns
	EnvMaxPatchBytes   = "CAMPAIGNBOT_MAX_PATCH_BYTES"
	EnvMaxFiles        = "CAMPAIGNBOT_MAX_FILES"
	EnvMaxLogBytes     = "CAMPAIGNBOT_MAX_LOG_BYTES"
	EnvArtifactURL     = "CAMPAIGNBOT_ARTIFACT_URL"
	EnvUploadTokenFile = "CAMPAIGNBOT_UPLOAD_TOKEN_FILE"
	EnvSteps           = "CAMPAIGNBOT_STEPS" // JSON [{"name","container"}]
	// EnvRun holds a step's script; the step container runs sh -ec "$CAMPAIGNBOT_RUN".
	EnvRun = "CAMPAIGNBOT_RUN"
)

// Paths inside the pod.
const (
	workspaceDir  = "/workspace"
	repoDir       = "/workspace/repo"
	tmpDir        = "/tmp"
	cloneTokenDir = "/var/run/campaignbot/clone"
	uploadTokDir  = "/var/run/campaignbot/upload"

	volWorkspace   = "workspace"
	volTmp         = "tmp"
	volCloneToken  = "clone-token"
	volUploadToken = "upload-token"
)

// runAsID is the distroless "nonroot" user and group.
const runAsID int64 = 65532

// StepInfo names a step and its container, for the upload agent's logs.
type StepInfo struct {
	Name      string `json:"name"`
	Container string `json:"container"`
}

// jobSpec is everything buildJob needs besides the Config.
type jobSpec struct {
	req         runner.Request
	meta        TaskMeta
	artifactURL string
}

// buildJob renders the Job for one task. It is created suspended: the
// Secret it mounts must first be created with the Job as its owner, and
// a suspended Job starts no pod that would wait on a missing Secret.
func buildJob(cfg Config, s jobSpec) (*batchv1.Job, error) {
	req := s.req
	agentRes, err := cfg.AgentResources.requirements()
	if err != nil {
		return nil, fmt.Errorf("kube: agent resources: %w", err)
	}
	stepRes, err := cfg.StepResources.requirements()
	if err != nil {
		return nil, fmt.Errorf("kube: step resources: %w", err)
	}
	wsSize, err := resource.ParseQuantity(cfg.WorkspaceSize)
	if err != nil {
		return nil, fmt.Errorf("kube: workspace size: %w", err)
	}
	tmpSize, err := resource.ParseQuantity(cfg.TmpSize)
	if err != nil {
		return nil, fmt.Errorf("kube: tmp size: %w", err)
	}
	if len(req.Steps) == 0 {
		return nil, fmt.Errorf("kube: task %s has no steps", req.TaskID)
	}

	names := containerNames(stepNames(req.Steps))
	limits := effectiveLimits(req.Limits)
	labels := objectLabels(cfg, req.TaskID, s.meta)
	podLabels := objectLabels(cfg, req.TaskID, s.meta)
	for _, st := range req.Steps {
		if st.Network {
			podLabels[LabelNetwork] = "true"
		}
	}
	annotations := map[string]string{
		AnnotationRepository: req.Repository,
		AnnotationBaseSHA:    req.BaseSHA,
	}
	if s.meta.CampaignID != "" {
		annotations[AnnotationCampaign] = s.meta.CampaignID
	}
	if s.meta.RunID != "" {
		annotations[AnnotationRun] = s.meta.RunID
	}

	steps := make([]StepInfo, len(req.Steps))
	for i, st := range req.Steps {
		steps[i] = StepInfo{Name: st.Name, Container: names[i]}
	}
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return nil, fmt.Errorf("kube: encode steps: %w", err)
	}
	allow := req.Allow
	if allow == nil {
		allow = []string{}
	}
	allowJSON, err := json.Marshal(allow)
	if err != nil {
		return nil, fmt.Errorf("kube: encode allow: %w", err)
	}

	pull := corev1.PullPolicy(cfg.ImagePullPolicy)
	clone := corev1.Container{
		Name:            cloneContainer,
		Image:           cfg.AgentImage,
		ImagePullPolicy: pull,
		Args:            []string{"agent", "clone"},
		Env: envList(
			EnvTaskID, req.TaskID,
			EnvRepository, req.Repository,
			EnvCloneURL, req.CloneURL,
			EnvBaseBranch, req.BaseBranch,
			EnvBaseSHA, req.BaseSHA,
			EnvWorkspace, repoDir,
			EnvCloneTokenFile, cloneTokenDir+"/"+secretKeyClone,
			"HOME", tmpDir,
		),
		WorkingDir:      workspaceDir,
		Resources:       agentRes,
		SecurityContext: containerSecurity(),
		VolumeMounts: append(baseMounts(),
			corev1.VolumeMount{Name: volCloneToken, MountPath: cloneTokenDir, ReadOnly: true}),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	init := []corev1.Container{clone}
	var budget time.Duration
	for i, st := range req.Steps {
		timeout := st.Timeout
		if timeout <= 0 {
			timeout = cfg.DefaultStepTimeout
		}
		budget += timeout
		if st.Image == "" {
			return nil, fmt.Errorf("kube: step %q has no image", st.Name)
		}
		env, err := stepEnv(st)
		if err != nil {
			return nil, err
		}
		init = append(init, corev1.Container{
			Name:            names[i],
			Image:           st.Image,
			ImagePullPolicy: pull,
			// The outer shell only expands $CAMPAIGNBOT_RUN; the inner
			// one runs it with -e, as the local executor does.
			Command:                  []string{"sh", "-c", `exec sh -ec "$` + EnvRun + `"`},
			Env:                      env,
			WorkingDir:               repoDir,
			Resources:                stepRes,
			SecurityContext:          containerSecurity(),
			VolumeMounts:             baseMounts(),
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		})
	}
	upload := corev1.Container{
		Name:            uploadContainer,
		Image:           cfg.AgentImage,
		ImagePullPolicy: pull,
		Args:            []string{"agent", "upload"},
		Env: envList(
			EnvTaskID, req.TaskID,
			EnvRepository, req.Repository,
			EnvBaseSHA, req.BaseSHA,
			EnvWorkspace, repoDir,
			EnvAllow, string(allowJSON),
			EnvMaxPatchBytes, strconv.FormatInt(limits.MaxPatchBytes, 10),
			EnvMaxFiles, strconv.Itoa(limits.MaxFiles),
			EnvMaxLogBytes, strconv.FormatInt(limits.MaxLogBytes, 10),
			EnvArtifactURL, s.artifactURL,
			EnvUploadTokenFile, uploadTokDir+"/"+secretKeyUpload,
			EnvSteps, string(stepsJSON),
			"HOME", tmpDir,
		),
		WorkingDir:      workspaceDir,
		Resources:       agentRes,
		SecurityContext: containerSecurity(),
		VolumeMounts: append(baseMounts(),
			corev1.VolumeMount{Name: volUploadToken, MountPath: uploadTokDir, ReadOnly: true}),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}

	name := jobName(req.TaskID)
	deadline := int64((budget + cfg.DeadlineMargin + time.Second - 1) / time.Second)
	ttl := int32(cfg.TTLAfterFinished / time.Second)
	tolerations := make([]corev1.Toleration, 0, len(cfg.Tolerations))
	for _, t := range cfg.Tolerations {
		tolerations = append(tolerations, t.toCore())
	}
	var pullSecrets []corev1.LocalObjectReference
	for _, n := range cfg.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: n})
	}
	// Secret files are root-owned; fsGroup makes them group-readable by
	// the non-root agent and no one else.
	secretMode := int32(0o440)

	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   cfg.Namespace,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: batchv1.JobSpec{
			Parallelism:             ptr(int32(1)),
			Completions:             ptr(int32(1)),
			BackoffLimit:            ptr(int32(0)),
			ActiveDeadlineSeconds:   &deadline,
			TTLSecondsAfterFinished: &ttl,
			Suspend:                 ptr(true),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: annotations},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					ServiceAccountName:            cfg.ServiceAccountName,
					AutomountServiceAccountToken:  ptr(false),
					EnableServiceLinks:            ptr(false),
					ImagePullSecrets:              pullSecrets,
					NodeSelector:                  cfg.NodeSelector,
					Tolerations:                   tolerations,
					TerminationGracePeriodSeconds: ptr(int64(10)),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr(true),
						RunAsUser:      ptr(runAsID),
						RunAsGroup:     ptr(runAsID),
						FSGroup:        ptr(runAsID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					InitContainers: init,
					Containers:     []corev1.Container{upload},
					Volumes: []corev1.Volume{
						{Name: volWorkspace, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &wsSize}}},
						{Name: volTmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &tmpSize}}},
						{Name: volCloneToken, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: name, DefaultMode: &secretMode,
							Items: []corev1.KeyToPath{{Key: secretKeyClone, Path: secretKeyClone}},
						}}},
						{Name: volUploadToken, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: name, DefaultMode: &secretMode,
							Items: []corev1.KeyToPath{{Key: secretKeyUpload, Path: secretKeyUpload}},
						}}},
					},
				},
			},
		},
	}
	return job, nil
}

// containerSecurity is the same for every container, agent or step: the
// steps are untrusted code and the agent holds tokens.
func containerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr(true),
		RunAsUser:                ptr(runAsID),
		RunAsGroup:               ptr(runAsID),
		Privileged:               ptr(false),
		AllowPrivilegeEscalation: ptr(false),
		ReadOnlyRootFilesystem:   ptr(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func baseMounts() []corev1.VolumeMount {
	return []corev1.VolumeMount{
		{Name: volWorkspace, MountPath: workspaceDir},
		{Name: volTmp, MountPath: tmpDir},
	}
}

// stepEnv is the step's own environment (sorted, for a stable manifest)
// plus its script. Names starting CAMPAIGNBOT_ are reserved for the
// runner so a spec cannot shadow the script.
func stepEnv(st runner.Step) ([]corev1.EnvVar, error) {
	keys := make([]string, 0, len(st.Env))
	for k := range st.Env {
		if strings.HasPrefix(k, "CAMPAIGNBOT_") {
			return nil, fmt.Errorf("kube: step %q: environment variable %s is reserved", st.Name, k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	kv := make([]string, 0, 2*len(keys)+4)
	kv = append(kv, "HOME", tmpDir)
	for _, k := range keys {
		if k == "HOME" {
			continue
		}
		kv = append(kv, k, st.Env[k])
	}
	if h, ok := st.Env["HOME"]; ok {
		kv[1] = h
	}
	kv = append(kv, EnvRun, st.Run)
	return envList(kv...), nil
}

// envList builds plain env vars from name, value pairs. Kubernetes
// expands $(NAME) in env values and turns $$ into $; doubling every $
// makes the kubelet hand the container the value exactly as written.
func envList(kv ...string) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, corev1.EnvVar{Name: kv[i], Value: escapeEnv(kv[i+1])})
	}
	return out
}

func escapeEnv(v string) string { return strings.ReplaceAll(v, "$", "$$") }

// unescapeEnv undoes escapeEnv, as the kubelet does.
func unescapeEnv(v string) string { return strings.ReplaceAll(v, "$$", "$") }

func stepNames(steps []runner.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Name
	}
	return out
}

// effectiveLimits applies runner.DefaultLimits field by field.
func effectiveLimits(l runner.Limits) runner.Limits {
	d := runner.DefaultLimits()
	if l.MaxPatchBytes <= 0 {
		l.MaxPatchBytes = d.MaxPatchBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxLogBytes <= 0 {
		l.MaxLogBytes = d.MaxLogBytes
	}
	return l
}

func ptr[T any](v T) *T { return &v }
