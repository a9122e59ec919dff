package chartcheck

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
)

// TestValuesSchema: values.schema.json accepts values.yaml and what the
// other tests set, and refuses a misspelt key or a wrong type with an
// error naming it, the way `helm install` would before rendering anything.
func TestValuesSchema(t *testing.T) {
	c := loadChart(t)
	if c.Schema == nil {
		t.Fatal("the chart has no values.schema.json")
	}
	tests := []struct {
		name string
		vals map[string]any
		want string // "" accepted; else part of the error
	}{
		{"the defaults", nil, ""},
		{"config values may be numbers and booleans", map[string]any{"config": map[string]any{"GITHUB_APP_INTEGRATION_ID": 12345, "PUBLISHER_KILL_SWITCH": true}}, ""},
		{"Kubernetes-typed fields stay open", map[string]any{"server": map[string]any{"resources": map[string]any{"limits": map[string]any{"ephemeral-storage": "1Gi"}}},
			"podSecurityContext": map[string]any{"supplementalGroups": []any{1000}}}, ""},
		{"a misspelt top-level key", map[string]any{"wroker": map[string]any{"replicas": 3}}, "wroker"},
		{"a misspelt section key", map[string]any{"worker": map[string]any{"replica": 3}}, "replica"},
		{"a misspelt setting", map[string]any{"config": map[string]any{"CAMPAIGN_LOG_LEVLE": "debug"}}, "CAMPAIGN_LOG_LEVLE"},
		{"a wrong type", map[string]any{"server": map[string]any{"replicas": "two"}}, "/server/replicas"},
		{"a secret must be a string", map[string]any{"secrets": map[string]any{"DATABASE_URL": 5}}, "/secrets/DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, err := chartutil.CoalesceValues(c, tt.vals)
			if err != nil {
				t.Fatal(err)
			}
			err = chartutil.ValidateAgainstSchema(c, vals)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatal("accepted")
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("the error does not name %q: %v", tt.want, err)
			}
		})
	}
}
