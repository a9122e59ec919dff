package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// kubeLike has the shapes of runner/kube's Config: a nested struct under
// an env prefix (used twice), lists and maps.
type kubeLike struct {
	Namespace string            `env:"CAMPAIGN_KUBE_NAMESPACE"`
	Secrets   []string          `env:"CAMPAIGN_KUBE_IMAGE_PULL_SECRETS"`
	Labels    map[string]string `env:"CAMPAIGN_KUBE_LABELS"`
	Agent     resourcesLike     `envPrefix:"CAMPAIGN_KUBE_AGENT_"`
	Step      resourcesLike     `envPrefix:"CAMPAIGN_KUBE_STEP_"`
	Timeout   time.Duration     `env:"CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT"`
	Tols      []tolerationLike  `env:"CAMPAIGN_KUBE_TOLERATIONS"`
}

type tolerationLike struct {
	Key     string `yaml:"key"`
	Effect  string `yaml:"effect"`
	Seconds *int64 `yaml:"tolerationSeconds" json:"tolerationSeconds"`
}

type resourcesLike struct {
	CPU string `env:"CPU_LIMIT"`
}

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    kubeLike
		wantErr []string
	}{
		{
			name: "prefixes, lists and maps",
			env: map[string]string{
				"CAMPAIGN_KUBE_NAMESPACE":            "jobs",
				"CAMPAIGN_KUBE_IMAGE_PULL_SECRETS":   "regcred, other ,",
				"CAMPAIGN_KUBE_LABELS":               "team=platform, cost-center = 42",
				"CAMPAIGN_KUBE_AGENT_CPU_LIMIT":      "1",
				"CAMPAIGN_KUBE_STEP_CPU_LIMIT":       "2",
				"CPU_LIMIT":                          "9", // unprefixed: not a setting
				"CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT": "5m",
				"CAMPAIGN_KUBE_TOLERATIONS":          `[{"key":"dedicated","effect":"NoSchedule"},{"key":"spot","tolerationSeconds":60}]`,
			},
			want: kubeLike{
				Namespace: "jobs",
				Secrets:   []string{"regcred", "other"},
				Labels:    map[string]string{"team": "platform", "cost-center": "42"},
				Agent:     resourcesLike{CPU: "1"},
				Step:      resourcesLike{CPU: "2"},
				Timeout:   5 * time.Minute,
				Tols:      []tolerationLike{{Key: "dedicated", Effect: "NoSchedule"}, {Key: "spot", Seconds: ptr(int64(60))}},
			},
		},
		{
			name:    "bad values are all reported",
			env:     map[string]string{"CAMPAIGN_KUBE_LABELS": "team", "CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT": "soon", "CAMPAIGN_KUBE_TOLERATIONS": `[{"key":"a","typo":1}]`},
			wantErr: []string{"CAMPAIGN_KUBE_LABELS", "CAMPAIGN_KUBE_DEFAULT_STEP_TIMEOUT", "CAMPAIGN_KUBE_TOLERATIONS"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got kubeLike
			err := ApplyEnv(&got, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ApplyEnv accepted %v", tt.env)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyEnv: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
