package chartcheck

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// appManifest is GitHub's App manifest format (the fields the file uses).
type appManifest struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Description    string `json:"description"`
	Public         bool   `json:"public"`
	HookAttributes struct {
		URL    string `json:"url"`
		Active bool   `json:"active"`
	} `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	DefaultPermissions map[string]string `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// handledEvents reads the event names the webhook handlers declare
// (handlers/events: each Handles() and NoopEvents), from the source.
func handledEvents(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "handlers", "events", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	handles := regexp.MustCompile(`(?s)Handles\(\) \[\]string \{\s*return \[\]string\{([^}]*)\}`)
	noop := regexp.MustCompile(`(?s)var NoopEvents = \[\]string\{([^}]*)\}`)
	quoted := regexp.MustCompile(`"([a-z_]+)"`)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src := readFile(t, f)
		var lists [][]byte
		for _, m := range handles.FindAllSubmatch(src, -1) {
			lists = append(lists, m[1])
		}
		if m := noop.FindSubmatch(src); m != nil {
			lists = append(lists, m[1])
		}
		for _, l := range lists {
			for _, q := range quoted.FindAllSubmatch(l, -1) {
				if !slices.Contains(out, string(q[1])) {
					out = append(out, string(q[1]))
				}
			}
		}
	}
	if len(out) < 5 {
		t.Fatalf("found only %v in handlers/events; has Handles() changed shape?", out)
	}
	slices.Sort(out)
	return out
}

// TestAppManifest: the manifest subscribes to exactly the events the
// handlers take (GitHub sends installation events and ping to every App
// unasked) and asks for the permissions docs/security.md justifies.
func TestAppManifest(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader(readFile(t, filepath.Join(repoRoot, "deploy", "github-app-manifest.json"))))
	dec.DisallowUnknownFields()
	var m appManifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var want []string
	for _, e := range handledEvents(t) {
		if e != "installation" && e != "installation_repositories" && e != "ping" {
			want = append(want, e)
		}
	}
	got := slices.Clone(m.DefaultEvents)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("manifest events %v, handlers take %v", got, want)
	}
	// Each event needs a permission that lets the App receive it.
	needs := map[string]string{
		"check_run": "checks", "check_suite": "checks", "commit_comment": "contents", "issue_comment": "issues",
		"pull_request": "pull_requests", "pull_request_review": "pull_requests", "push": "contents",
		"repository": "metadata", "status": "statuses",
	}
	for _, e := range m.DefaultEvents {
		p, ok := needs[e]
		if !ok {
			t.Errorf("event %s: say which permission delivers it (and justify it in docs/security.md)", e)
		} else if m.DefaultPermissions[p] == "" {
			t.Errorf("event %s needs the %s permission", e, p)
		}
	}
	security := string(readFile(t, filepath.Join(repoRoot, "docs", "security.md")))
	for p, level := range m.DefaultPermissions {
		if level != "read" && level != "write" {
			t.Errorf("permission %s: %q", p, level)
		}
		// The table row in docs/security.md names the manifest key.
		if !strings.Contains(security, "`"+p+"`") {
			t.Errorf("docs/security.md does not justify permission %s", p)
		}
	}
	if m.Public || !strings.HasSuffix(m.HookAttributes.URL, "/api/github/hook") || !m.HookAttributes.Active {
		t.Errorf("manifest: public %v, hook %+v", m.Public, m.HookAttributes)
	}
}

// TestCompose: the app services of deploy/compose.yaml set only real
// settings and run locked down.
func TestCompose(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Profiles    []string          `json:"profiles"`
			Environment map[string]string `json:"environment"`
			ReadOnly    bool              `json:"read_only"`
			CapDrop     []string          `json:"cap_drop"`
			SecurityOpt []string          `json:"security_opt"`
			Command     []string          `json:"command"`
			Build       struct {
				Context string `json:"context"`
				Target  string `json:"target"`
			} `json:"build"`
		} `json:"services"`
	}
	raw := readFile(t, filepath.Join(repoRoot, "deploy", "compose.yaml"))
	// sigs.k8s.io/yaml resolves the &env anchor and its aliases.
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	all := settings(t)
	for _, name := range []string{"migrate", "server", "worker"} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("compose.yaml has no %s service", name)
			continue
		}
		if !slices.Equal(s.Command, []string{name}) || !slices.Equal(s.Profiles, []string{"app"}) {
			t.Errorf("%s: command %v profiles %v", name, s.Command, s.Profiles)
		}
		// Built from this checkout (the local executor's target), never pulled by that name.
		if s.Build.Context != ".." || s.Build.Target != "local" {
			t.Errorf("%s: build %+v, want context .. and target local", name, s.Build)
		}
		if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: read_only %v cap_drop %v security_opt %v", name, s.ReadOnly, s.CapDrop, s.SecurityOpt)
		}
		for k := range s.Environment {
			if !slices.Contains(all, k) {
				t.Errorf("%s: %s is not a setting of the binary", name, k)
			}
		}
	}
	for _, name := range []string{"postgres", "redis"} {
		if len(c.Services[name].Profiles) != 0 {
			t.Errorf("%s must start without a profile (deploy/services.sh and the tests use it)", name)
		}
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "Dockerfile")); err != nil {
		t.Errorf("compose builds from the repository's Dockerfile: %v", err)
	}
}

// TestDocLinks: the operator docs' relative links lead to files that exist
// (the runbooks, the ADRs, the docs they cite).
func TestDocLinks(t *testing.T) {
	docs := []string{"docs/operations.md", "docs/security.md", "docs/runner-kube.md", "docs/adrs/ADR-20261127-security-posture.md"}
	runbooks, err := filepath.Glob(filepath.Join(repoRoot, "docs", "runbooks", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"webhook-backlog", "queue-saturation", "publish-failures", "rate-limit-exhaustion", "stuck-jobs"} {
		if !slices.Contains(runbooks, filepath.Join(repoRoot, "docs", "runbooks", want+".md")) {
			t.Errorf("runbook docs/runbooks/%s.md is missing", want)
		}
	}
	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	for _, d := range docs {
		checkLinks(t, filepath.Join(repoRoot, d), link)
	}
	for _, r := range runbooks {
		checkLinks(t, r, link)
	}
}

func checkLinks(t *testing.T, path string, link *regexp.Regexp) {
	t.Helper()
	for _, m := range link.FindAllStringSubmatch(string(readFile(t, path)), -1) {
		target := filepath.Join(filepath.Dir(path), m[1])
		if _, err := os.Stat(target); err != nil {
			t.Errorf("%s links to %s, which does not exist", path, m[1])
		}
	}
}
