package chartcheck

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// Paths from this module to what it checks.
var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join(repoRoot, "deploy", "helm", "campaignbot")
)

const (
	releaseName = "cb"
	releaseNS   = "campaignbot"
)

// object is one rendered manifest, decoded.
type object struct {
	source string // template file
	kind   string
	name   string
	ns     string
	obj    any // a client-go type, or *serviceMonitor
}

// serviceMonitor is the part of the Prometheus Operator's CRD the chart
// writes; decoding into it strictly rejects any other field.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// podMonitor is the part of the Prometheus Operator's PodMonitor the chart writes.
type podMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		PodMetricsEndpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// strict decodes with client-go's scheme and fails on unknown or
// duplicate fields.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart %s: %v", chartDir, err)
	}
	return c
}

// render renders the chart as `helm install cb -n campaignbot` would with
// the given values on top of values.yaml, and decodes every object.
func render(t *testing.T, vals map[string]any) []object {
	t.Helper()
	c := loadChart(t)
	rv, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{
		Name: releaseName, Namespace: releaseNS, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	files, err := engine.Render(c, rv)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var out []object
	for _, src := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasSuffix(src, ".yaml") {
			continue
		}
		docs := releaseutil.SplitManifests(files[src])
		for _, key := range slices.Sorted(maps.Keys(docs)) {
			doc := docs[key]
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			o, err := decode(src, []byte(doc))
			if err != nil {
				t.Fatalf("%s: %v\n%s", src, err, doc)
			}
			out = append(out, o)
		}
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func decode(src string, doc []byte) (object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return object{}, fmt.Errorf("not YAML: %w", err)
	}
	if head.APIVersion == "monitoring.coreos.com/v1" && head.Kind == "ServiceMonitor" {
		var sm serviceMonitor
		if err := yaml.UnmarshalStrict(doc, &sm); err != nil {
			return object{}, fmt.Errorf("ServiceMonitor: %w", err)
		}
		return object{source: src, kind: sm.Kind, name: sm.Metadata.Name, ns: sm.Metadata.Namespace, obj: &sm}, nil
	}
	if head.APIVersion == "monitoring.coreos.com/v1" && head.Kind == "PodMonitor" {
		var pm podMonitor
		if err := yaml.UnmarshalStrict(doc, &pm); err != nil {
			return object{}, fmt.Errorf("PodMonitor: %w", err)
		}
		return object{source: src, kind: pm.Kind, name: pm.Metadata.Name, ns: pm.Metadata.Namespace, obj: &pm}, nil
	}
	obj, gvk, err := strict.Decode(doc, nil, nil)
	if err != nil {
		return object{}, fmt.Errorf("strict decode: %w", err)
	}
	m, ok := obj.(interface {
		GetName() string
		GetNamespace() string
	})
	if !ok {
		return object{}, fmt.Errorf("%s has no metadata", gvk)
	}
	if m.GetNamespace() == "" && gvk.Kind != "Namespace" {
		return object{}, fmt.Errorf("%s %s has no namespace", gvk.Kind, m.GetName())
	}
	return object{source: src, kind: gvk.Kind, name: m.GetName(), ns: m.GetNamespace(), obj: obj}, nil
}

// only returns the one object of kind whose name ends with suffix.
func only[T any](t *testing.T, objs []object, kind, suffix string) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if o.kind == kind && strings.HasSuffix(o.name, suffix) {
			found = append(found, o.obj.(T))
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s named *%s, found %d", kind, suffix, len(found))
	}
	return found[0]
}

func ofKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// podSpecs are every pod template the chart renders, by object name.
func podSpecs(objs []object) map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			out[o.kind+"/"+o.name] = v.Spec.Template
		case *batchv1.Job:
			out[o.kind+"/"+o.name] = v.Spec.Template
		case *appsv1.StatefulSet, *appsv1.DaemonSet, *corev1.Pod, *batchv1.CronJob:
			out[o.kind+"/"+o.name] = corev1.PodTemplateSpec{} // fails the checks: add it above
		}
	}
	return out
}

// allOn are values that switch every optional object on.
func allOn() map[string]any {
	return map[string]any{
		"ingress":        map[string]any{"enabled": true, "className": "nginx", "tlsSecretName": "cb-tls"},
		"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"}},
		"worker": map[string]any{
			"autoscaling": map[string]any{"enabled": true, "metricSelector": map[string]any{"queue": "campaign_tasks"}},
			"pdb":         map[string]any{"enabled": true},
		},
		"imagePullSecrets": []any{"regcred"},
	}
}

// valueSets are the configurations every structural check runs on.
func valueSets() map[string]map[string]any {
	return map[string]map[string]any{
		"defaults": nil,
		"all on":   allOn(),
		"no jobs, existing secret, S3": {
			"jobs":      map[string]any{"enabled": false},
			"secrets":   map[string]any{"existingSecret": "mine"},
			"artifacts": map[string]any{"persistence": map[string]any{"enabled": false}},
			"config":    map[string]any{"RUNNER_S3_BUCKET": "bucket"},
		},
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeFile(t *testing.T, path string) runtime.Object {
	t.Helper()
	obj, _, err := strict.Decode(readFile(t, path), nil, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}
