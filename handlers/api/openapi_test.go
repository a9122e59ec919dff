package api_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/store"
)

// TestOpenAPIMatchesRoutes keeps docs/api/openapi.yaml and the router
// equal: every route is described and every described operation is served
// (path and method both ways), every $ref resolves, and every write route
// documents its 403.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	raw, err := os.ReadFile("../../docs/api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("openapi.yaml has no paths")
	}
	documented := map[string]map[string]any{}
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for m, op := range ops {
			switch m {
			case "get", "post", "put", "patch", "delete":
				documented[strings.ToUpper(m)+" "+p], _ = op.(map[string]any)
			}
		}
	}
	served := map[string]api.Route{}
	for _, r := range api.New(api.Config{}).Routes() {
		served[r.Method+" "+r.Pattern] = r
	}
	var missing, extra []string
	for k, r := range served {
		op, ok := documented[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		if r.Scope == store.ScopeWrite {
			if resp, _ := op["responses"].(map[string]any); resp["403"] == nil {
				t.Errorf("%s needs a write token but documents no 403", k)
			}
		}
	}
	for k := range documented {
		if _, ok := served[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("served but not in openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("in openapi.yaml but not served: %v", extra)
	}

	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if len(refs) == 0 {
		t.Fatal("no $ref found: the walk is broken")
	}
	for _, ref := range refs {
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		if cur == nil {
			t.Errorf("$ref %s does not resolve", ref)
		}
	}
}
