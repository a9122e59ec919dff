package chartcheck

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/campaignbot/campaignbot/runner/kube"
)

// TestLint is `helm lint --strict`: no error and no warning, with the
// default values and with every optional object switched on.
func TestLint(t *testing.T) {
	for name, vals := range valueSets() {
		t.Run(name, func(t *testing.T) {
			res := lint.AllWithKubeVersion(chartDir, vals, releaseNS, nil)
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				}
			}
		})
	}
}

// TestEveryObjectDecodesStrictly renders each value set; render fails on
// any object client-go's scheme does not know or any unknown field.
func TestEveryObjectDecodesStrictly(t *testing.T) {
	wantKinds := map[string][]string{
		"defaults": {"ConfigMap", "Deployment", "Job", "Namespace", "NetworkPolicy", "PersistentVolumeClaim",
			"PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"},
		"all on": {"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Job", "Namespace", "NetworkPolicy",
			"PersistentVolumeClaim", "PodDisruptionBudget", "PodMonitor", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount", "ServiceMonitor"},
		"no jobs, existing secret, S3": {"ConfigMap", "Deployment", "Job", "PodDisruptionBudget", "Service", "ServiceAccount"},
	}
	for name, vals := range valueSets() {
		t.Run(name, func(t *testing.T) {
			var kinds []string
			for _, o := range render(t, vals) {
				if !slices.Contains(kinds, o.kind) {
					kinds = append(kinds, o.kind)
				}
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, wantKinds[name]) {
				t.Errorf("kinds %v, want %v", kinds, wantKinds[name])
			}
		})
	}
}

// TestPodSecurity asserts the security fields of every pod the chart runs.
func TestPodSecurity(t *testing.T) {
	for name, vals := range valueSets() {
		t.Run(name, func(t *testing.T) {
			objs := render(t, vals)
			pods := podSpecs(objs)
			if len(pods) != 3 {
				t.Fatalf("want the server, worker and migrate pods, got %d", len(pods))
			}
			jobsOn := vals == nil || !strings.HasPrefix(name, "no jobs")
			for pname, tmpl := range pods {
				p := tmpl.Spec
				sc := p.SecurityContext
				if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
					t.Errorf("%s: pod runAsNonRoot is not true", pname)
				}
				if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
					t.Errorf("%s: pod runAsUser is not a non-zero uid", pname)
				}
				if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("%s: pod seccompProfile is not RuntimeDefault", pname)
				}
				if p.HostNetwork || p.HostPID || p.HostIPC {
					t.Errorf("%s: uses a host namespace", pname)
				}
				if p.EnableServiceLinks == nil || *p.EnableServiceLinks {
					t.Errorf("%s: enableServiceLinks is not false", pname)
				}
				// Only the worker talks to the Kubernetes API, and only for Jobs.
				wantToken := strings.HasSuffix(pname, "-worker") && jobsOn
				if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken != wantToken {
					t.Errorf("%s: automountServiceAccountToken = %v, want %v", pname, p.AutomountServiceAccountToken, wantToken)
				}
				for _, v := range p.Volumes {
					if v.HostPath != nil {
						t.Errorf("%s: hostPath volume %s", pname, v.Name)
					}
				}
				if len(p.InitContainers) > 0 {
					t.Errorf("%s: unexpected init containers", pname)
				}
				for _, c := range p.Containers {
					where := pname + "/" + c.Name
					cs := c.SecurityContext
					if cs == nil {
						t.Errorf("%s: no securityContext", where)
						continue
					}
					if cs.RunAsNonRoot == nil || !*cs.RunAsNonRoot {
						t.Errorf("%s: runAsNonRoot is not true", where)
					}
					if cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem {
						t.Errorf("%s: readOnlyRootFilesystem is not true", where)
					}
					if cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
						t.Errorf("%s: allowPrivilegeEscalation is not false", where)
					}
					if cs.Privileged != nil && *cs.Privileged {
						t.Errorf("%s: privileged", where)
					}
					if cs.Capabilities == nil || !reflect.DeepEqual(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) > 0 {
						t.Errorf("%s: capabilities %+v, want drop [ALL] and nothing added", where, cs.Capabilities)
					}
					if cs.SeccompProfile == nil || cs.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
						t.Errorf("%s: seccompProfile is not RuntimeDefault", where)
					}
					for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
						if _, ok := c.Resources.Limits[r]; !ok {
							t.Errorf("%s: no %s limit", where, r)
						}
						if _, ok := c.Resources.Requests[r]; !ok {
							t.Errorf("%s: no %s request", where, r)
						}
					}
					if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" }) {
						t.Errorf("%s: no writable /tmp (the root filesystem is read-only)", where)
					}
				}
			}
		})
	}
}

// TestServer checks the server's probes, Service, PDB and Ingress.
func TestServer(t *testing.T) {
	objs := render(t, allOn())
	d := only[*appsv1.Deployment](t, objs, "Deployment", "-server")
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"server"}) {
		t.Errorf("server args %v", c.Args)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}
	svc := only[*corev1.Service](t, objs, "Service", "-server")
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the server pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	pdb := only[*policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget", "-server")
	if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("server PDB %+v does not keep one server pod", pdb.Spec)
	}
	ing := only[*networkingv1.Ingress](t, objs, "Ingress", "cb-campaignbot")
	var paths []string
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			paths = append(paths, p.Path)
			if p.Backend.Service == nil || p.Backend.Service.Name != svc.Name {
				t.Errorf("ingress path %s does not go to the server Service", p.Path)
			}
		}
	}
	// Only webhooks are public: not the artifact proxy, not /metrics.
	if !slices.Equal(paths, []string{"/api/github/hook"}) {
		t.Errorf("ingress paths %v, want only /api/github/hook", paths)
	}
	sm := only[*serviceMonitor](t, objs, "ServiceMonitor", "cb-campaignbot")
	if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor %+v does not scrape the server Service's /metrics", sm.Spec)
	}
}

// TestWorkerProbes: the worker's health endpoint is probed and scraped.
func TestWorkerProbes(t *testing.T) {
	objs := render(t, allOn())
	d := only[*appsv1.Deployment](t, objs, "Deployment", "-worker")
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"worker"}) || len(c.Ports) != 1 || c.Ports[0].Name != "http" {
		t.Fatalf("worker args %v ports %+v", c.Args, c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("worker %s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}
	pm := only[*podMonitor](t, objs, "PodMonitor", "-worker")
	if !labels.SelectorFromSet(pm.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) ||
		len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Port != "http" || pm.Spec.PodMetricsEndpoints[0].Path != "/metrics" {
		t.Errorf("PodMonitor %+v does not scrape the workers' /metrics", pm.Spec)
	}
}

// TestWorkerAutoscaling: with the HPA on, the Deployment leaves replicas to it.
func TestWorkerAutoscaling(t *testing.T) {
	objs := render(t, allOn())
	d := only[*appsv1.Deployment](t, objs, "Deployment", "-worker")
	if d.Spec.Replicas != nil {
		t.Errorf("worker replicas set to %d although the HPA owns them", *d.Spec.Replicas)
	}
	hpa := only[*autoscalingv2.HorizontalPodAutoscaler](t, objs, "HorizontalPodAutoscaler", "-worker")
	if hpa.Spec.ScaleTargetRef.Name != d.Name || len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Type != autoscalingv2.ExternalMetricSourceType {
		t.Fatalf("HPA %+v does not scale the worker on an external metric", hpa.Spec)
	}
	m := hpa.Spec.Metrics[0].External
	if m.Metric.Name != "campaignbot_queue_depth" || m.Target.AverageValue == nil || m.Target.AverageValue.String() != "100" {
		t.Errorf("HPA metric %+v", m)
	}
	if m.Metric.Selector == nil || m.Metric.Selector.MatchLabels["queue"] != "campaign_tasks" {
		t.Errorf("HPA metric selector %+v", m.Metric.Selector)
	}
	def := render(t, nil)
	if d := only[*appsv1.Deployment](t, def, "Deployment", "-worker"); d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("default worker replicas %v, want 2", d.Spec.Replicas)
	}
	if len(ofKind(def, "HorizontalPodAutoscaler")) != 0 {
		t.Error("HPA rendered although autoscaling is off")
	}
}

// TestMigrationHook: `campaignbot migrate` runs before install and upgrade,
// with the database URL from a Secret that exists by then.
func TestMigrationHook(t *testing.T) {
	for name, vals := range valueSets() {
		t.Run(name, func(t *testing.T) {
			objs := render(t, vals)
			job := only[*batchv1.Job](t, objs, "Job", "-migrate")
			if job.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" {
				t.Errorf("migrate hook %q", job.Annotations["helm.sh/hook"])
			}
			c := job.Spec.Template.Spec.Containers[0]
			if !slices.Equal(c.Args, []string{"migrate"}) || job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("migrate container %v restart %s", c.Args, job.Spec.Template.Spec.RestartPolicy)
			}
			var ref *corev1.SecretKeySelector
			for _, e := range c.Env {
				if e.Name == "DATABASE_URL" && e.ValueFrom != nil {
					ref = e.ValueFrom.SecretKeyRef
				}
			}
			if ref == nil || ref.Key != "DATABASE_URL" {
				t.Fatalf("migrate has no DATABASE_URL from a Secret: %+v", c.Env)
			}
			if strings.Contains(name, "existing secret") {
				if ref.Name != "mine" {
					t.Errorf("migrate reads %s, want the existing Secret", ref.Name)
				}
				return
			}
			// An ordinary Secret does not exist yet during pre-install: the
			// one read must be a hook created before the Job.
			var hook *corev1.Secret
			for _, o := range ofKind(objs, "Secret") {
				if o.name == ref.Name {
					hook = o.obj.(*corev1.Secret)
				}
			}
			if hook == nil || hook.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" || hook.Annotations["helm.sh/hook-weight"] >= job.Annotations["helm.sh/hook-weight"] {
				t.Errorf("migrate's Secret %s is not a hook created before the Job: %+v", ref.Name, hook)
			}
		})
	}
}

// TestRunnerRole: the Role grants exactly what deploy/rbac/role.yaml does
// (the file tests/kube proves runner/kube needs and is limited to), bound
// to the worker's ServiceAccount.
func TestRunnerRole(t *testing.T) {
	objs := render(t, nil)
	want := decodeFile(t, filepath.Join(repoRoot, "deploy", "rbac", "role.yaml")).(*rbacv1.Role)
	role := only[*rbacv1.Role](t, objs, "Role", "-runner")
	if role.Namespace != "campaignbot-jobs" {
		t.Errorf("Role in %s, want the jobs namespace", role.Namespace)
	}
	if !reflect.DeepEqual(role.Rules, want.Rules) {
		t.Errorf("Role rules\n%+v\nwant deploy/rbac/role.yaml's\n%+v", role.Rules, want.Rules)
	}
	rb := only[*rbacv1.RoleBinding](t, objs, "RoleBinding", "-runner")
	worker := only[*appsv1.Deployment](t, objs, "Deployment", "-worker")
	wantSubject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: worker.Spec.Template.Spec.ServiceAccountName, Namespace: releaseNS}}
	if rb.Namespace != role.Namespace || rb.RoleRef.Name != role.Name || rb.RoleRef.Kind != "Role" || !reflect.DeepEqual(rb.Subjects, wantSubject) {
		t.Errorf("RoleBinding %+v does not bind the Role to the worker's ServiceAccount %+v", rb, wantSubject)
	}
	// No ClusterRole, no other Role: nothing else is granted.
	if n := len(ofKind(objs, "Role")) + len(ofKind(objs, "ClusterRole")) + len(ofKind(objs, "ClusterRoleBinding")); n != 1 {
		t.Errorf("%d roles rendered, want only the runner Role", n)
	}
	task := only[*corev1.ServiceAccount](t, objs, "ServiceAccount", "campaignbot-task")
	if task.Namespace != role.Namespace || task.AutomountServiceAccountToken == nil || *task.AutomountServiceAccountToken {
		t.Errorf("task ServiceAccount %+v must live in the jobs namespace without a token", task)
	}
	ns := only[*corev1.Namespace](t, objs, "Namespace", "campaignbot-jobs")
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("jobs namespace labels %v: Pod Security restricted is not enforced", ns.Labels)
	}
}

// goldenJob is the Job runner/kube builds (its golden file, kept current by
// runner/kube's TestJobGolden): its pod labels are what the policy must select.
func goldenJob(t *testing.T) *batchv1.Job {
	t.Helper()
	return decodeFile(t, filepath.Join(repoRoot, "runner", "kube", "testdata", "job.golden.yaml")).(*batchv1.Job)
}

// TestJobNetworkPolicy: the Job pods runner/kube creates are selected, get
// no ingress, and egress only to DNS, GitHub on 443 and the server's
// artifact proxy; pods labelled for the network also get the internet
// without private ranges or cloud metadata.
func TestJobNetworkPolicy(t *testing.T) {
	objs := render(t, nil)
	golden := goldenJob(t)
	podLabels := labels.Set(golden.Spec.Template.Labels)
	noNetwork := labels.Set{}
	for k, v := range podLabels {
		if k != kube.LabelNetwork {
			noNetwork[k] = v
		}
	}
	if podLabels[kube.LabelNetwork] != "true" {
		t.Fatalf("the golden Job no longer has a networked step; the test needs one: %v", podLabels)
	}

	base := only[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", "-jobs")
	sel, err := metav1.LabelSelectorAsSelector(&base.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	if base.Namespace != golden.Namespace {
		t.Errorf("policy in %s, Jobs in %s", base.Namespace, golden.Namespace)
	}
	if !sel.Matches(podLabels) || !sel.Matches(noNetwork) {
		t.Errorf("policy selector %s does not select runner/kube's pods %v", sel, podLabels)
	}
	if sel.Empty() || !strings.Contains(sel.String(), kube.LabelManagedBy) {
		t.Errorf("policy selector %s must select on %s, not every pod", sel, kube.LabelManagedBy)
	}
	if !slices.Equal(base.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) || len(base.Spec.Ingress) != 0 {
		t.Errorf("policy types %v ingress %v: want both enforced and no ingress allowed", base.Spec.PolicyTypes, base.Spec.Ingress)
	}
	server := only[*appsv1.Deployment](t, objs, "Deployment", "-server")
	var dns, github, proxy bool
	for i, r := range base.Spec.Egress {
		if len(r.To) == 0 || len(r.Ports) == 0 {
			t.Errorf("egress rule %d allows every destination or port: %+v", i, r)
			continue
		}
		for _, peer := range r.To {
			switch {
			case peer.IPBlock != nil:
				github = true
				if peer.IPBlock.CIDR == "0.0.0.0/0" || peer.IPBlock.CIDR == "::/0" {
					t.Errorf("egress rule %d opens the internet", i)
				}
				if len(r.Ports) != 1 || r.Ports[0].Port.IntValue() != 443 {
					t.Errorf("GitHub egress ports %+v, want 443", r.Ports)
				}
			case peer.PodSelector != nil && peer.PodSelector.MatchLabels["k8s-app"] == "kube-dns":
				dns = true
				for _, p := range r.Ports {
					if p.Port.IntValue() != 53 {
						t.Errorf("DNS rule opens port %v", p.Port)
					}
				}
			case peer.PodSelector != nil:
				ps, _ := metav1.LabelSelectorAsSelector(peer.PodSelector)
				ns, _ := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
				if !ps.Matches(labels.Set(server.Spec.Template.Labels)) || !ns.Matches(labels.Set{"kubernetes.io/metadata.name": releaseNS}) {
					t.Errorf("egress rule %d: %v in %v is not the server", i, ps, ns)
				}
				if len(r.Ports) != 1 || r.Ports[0].Port.IntValue() != int(server.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort) {
					t.Errorf("artifact proxy egress ports %+v", r.Ports)
				}
				proxy = true
			default:
				t.Errorf("egress rule %d: unexpected peer %+v", i, peer)
			}
		}
	}
	if !dns || !github || !proxy {
		t.Errorf("egress: dns %v, github %v, artifact proxy %v; want all three", dns, github, proxy)
	}

	wide := only[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", "-jobs-network")
	wsel, err := metav1.LabelSelectorAsSelector(&wide.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !wsel.Matches(podLabels) || wsel.Matches(noNetwork) {
		t.Errorf("network policy selector %s must select pods with %s=true only", wsel, kube.LabelNetwork)
	}
	if len(wide.Spec.Egress) != 1 || len(wide.Spec.Egress[0].To) != 1 || wide.Spec.Egress[0].To[0].IPBlock == nil ||
		!slices.Contains(wide.Spec.Egress[0].To[0].IPBlock.Except, "169.254.0.0/16") || !slices.Contains(wide.Spec.Egress[0].To[0].IPBlock.Except, "10.0.0.0/8") {
		t.Errorf("networked steps' egress %+v must exclude cloud metadata and private ranges", wide.Spec.Egress)
	}
}
