package kube

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels and annotations on every object the runner creates. They are
// how a restarted runner finds its Jobs, so they must never change
// meaning.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelComponent = "app.kubernetes.io/component"
	LabelTask      = "campaignbot.dev/task"
	LabelCampaign  = "campaignbot.dev/campaign"
	LabelRun       = "campaignbot.dev/run"
	// LabelNetwork is "true" on pods with a step that asked for the
	// network, so a NetworkPolicy can open egress for them only.
	LabelNetwork = "campaignbot.dev/network"

	AnnotationRepository = "campaignbot.dev/repository"
	AnnotationBaseSHA    = "campaignbot.dev/base-sha"
	AnnotationCampaign   = "campaignbot.dev/campaign"
	AnnotationRun        = "campaignbot.dev/run"

	managedBy = "campaignbot"
	component = "runner"
	// namePrefix + task UUID (36) stays within the 63 characters a Job
	// name may have for its pods' job-name label.
	namePrefix = "campaignbot-"
)

// managedSelector selects every Job the runner made, whichever task.
const managedSelector = LabelManagedBy + "=" + managedBy

// jobName is the Job's (and its Secret's) name: derived from the task so
// that two Executes of one task collide on create instead of running
// twice.
func jobName(taskID string) string { return namePrefix + taskID }

func taskSelector(taskID string) string {
	return managedSelector + "," + LabelTask + "=" + taskID
}

// validTaskID accepts what can name a Job and label it: in practice the
// lower-case UUIDs the orchestrator hands out.
func validTaskID(id string) error {
	if id == "" {
		return fmt.Errorf("kube: empty task id")
	}
	if msgs := validation.IsDNS1123Label(jobName(id)); len(msgs) > 0 {
		return fmt.Errorf("kube: task id %q cannot name a Job: %s", id, strings.Join(msgs, "; "))
	}
	return nil
}

// TaskMeta is what a Job is labelled with besides the task: the
// campaign and run it belongs to. runner.Request does not carry them, so
// the orchestrator passes them with WithTaskMeta.
type TaskMeta struct {
	CampaignID string
	RunID      string
}

type taskMetaKey struct{}

// WithTaskMeta returns ctx carrying m for Execute to label the Job with.
func WithTaskMeta(ctx context.Context, m TaskMeta) context.Context {
	return context.WithValue(ctx, taskMetaKey{}, m)
}

func taskMetaFrom(ctx context.Context) TaskMeta {
	m, _ := ctx.Value(taskMetaKey{}).(TaskMeta)
	return m
}

// objectLabels are the labels of the Job, its pod template and its
// Secret. Campaign and run IDs that are not valid label values (too
// long, odd characters) are kept only as annotations.
func objectLabels(cfg Config, taskID string, meta TaskMeta) map[string]string {
	l := make(map[string]string, len(cfg.Labels)+5)
	for k, v := range cfg.Labels {
		l[k] = v
	}
	l[LabelManagedBy] = managedBy
	l[LabelComponent] = component
	l[LabelTask] = taskID
	if meta.CampaignID != "" && len(validation.IsValidLabelValue(meta.CampaignID)) == 0 {
		l[LabelCampaign] = meta.CampaignID
	}
	if meta.RunID != "" && len(validation.IsValidLabelValue(meta.RunID)) == 0 {
		l[LabelRun] = meta.RunID
	}
	return l
}

// containerNames gives each step a container name: the slug of its name,
// unique within the pod and never "clone" or "upload". The mapping is a
// pure function of the steps so an adopting Executor recomputes it.
func containerNames(stepNames []string) []string {
	used := map[string]bool{cloneContainer: true, uploadContainer: true}
	out := make([]string, len(stepNames))
	for i, n := range stepNames {
		base := slug(n)
		if base == "" {
			base = fmt.Sprintf("step-%d", i+1)
		}
		if base == cloneContainer || base == uploadContainer {
			base = "step-" + base
		}
		name := base
		for k := 2; used[name]; k++ {
			suffix := fmt.Sprintf("-%d", k)
			name = trimSlug(base[:min(len(base), validation.DNS1123LabelMaxLength-len(suffix))]) + suffix
		}
		used[name] = true
		out[i] = name
	}
	return out
}

// slug lower-cases s and maps every run of other characters to one "-",
// giving a DNS-1123 label of at most 63 characters.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return trimSlug(b.String())
}

func trimSlug(s string) string {
	if len(s) > validation.DNS1123LabelMaxLength {
		s = s[:validation.DNS1123LabelMaxLength]
	}
	return strings.Trim(s, "-")
}
