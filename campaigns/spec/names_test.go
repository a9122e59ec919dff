package spec

import (
	"strings"
	"testing"
)

func TestBranchName(t *testing.T) {
	tests := []struct {
		id   int64
		ver  int
		repo string
		want string
	}{
		{42, 3, "octo-org/api", "campaign/42/3/octo-org-api"},
		{1, 1, "Octo-Org/My.Repo", "campaign/1/1/octo-org-my.repo"},
		{7, 2, "octo-org/.github", "campaign/7/2/octo-org-.github"},
		{7, 2, "octo-org/x.lock", "campaign/7/2/octo-org-x"},
		{7, 2, "octo-org/a..b.", "campaign/7/2/octo-org-a.b"},
		{7, 2, "", "campaign/7/2/repo"},
		{7, 2, "ünïcode/repo name", "campaign/7/2/n-code-repo-name"},
	}
	for _, tt := range tests {
		got := BranchName(tt.id, tt.ver, tt.repo)
		if got != tt.want {
			t.Errorf("BranchName(%d, %d, %q) = %q, want %q", tt.id, tt.ver, tt.repo, got, tt.want)
		}
		if err := ValidateRefName(got); err != nil {
			t.Errorf("BranchName(%q) is not a valid ref: %v", tt.repo, err)
		}
	}
}

func TestValidateRefName(t *testing.T) {
	good := []string{"main", "campaign/1/2/octo-org-api", "feature/x.y", "a-b_c"}
	bad := []string{"", "/a", "a/", "a//b", "a.", "a..b", "a@{b", "@", "-a", "a b", "a~b", "a^b", "a:b",
		"a?b", "a*b", "a[b", `a\b`, "a/.b", "a.lock", "a/b.lock/c", "a\x01", strings.Repeat("a", 256)}
	for _, n := range good {
		if err := ValidateRefName(n); err != nil {
			t.Errorf("ValidateRefName(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidateRefName(n); err == nil {
			t.Errorf("ValidateRefName(%q) = nil, want an error", n)
		}
	}
}

func TestValidateRepoName(t *testing.T) {
	good := []string{"octo-org/api", "a/b", "octocat/.github", "O/x_y.z-1", strings.Repeat("a", 39) + "/" + strings.Repeat("b", 100)}
	bad := []string{"octo-org", "/api", "octo-org/", "a/b/c", "-a/b", "a-/b", "a--b/c", "a/..", "a/.", "a/b c",
		strings.Repeat("a", 40) + "/b", "a/" + strings.Repeat("b", 101), "a_b/c"}
	for _, n := range good {
		if err := ValidateRepoName(n); err != nil {
			t.Errorf("ValidateRepoName(%q) = %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidateRepoName(n); err == nil {
			t.Errorf("ValidateRepoName(%q) = nil, want an error", n)
		}
	}
}

func TestValidateImageRef(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	good := []string{"golang", "golang:1.26-alpine", "library/golang:1", "ghcr.io/octo-org/tools:v2",
		"localhost:5000/x", "registry.local:5000/a/b/c:tag_1", "golang@" + digest, "golang:1.26@" + digest,
		"a-b/c__d.e_f", "REGISTRY.example.com/x:Y"}
	bad := []string{"", "Golang", "golang:", "golang:-x", "golang@sha256:abc", "golang@md5:" + strings.Repeat("a", 32),
		"a b", "a//b", "my_registry.example:5000/x", "x/", ":tag", "golang:" + strings.Repeat("t", 129), "a--/b"}
	for _, r := range good {
		if err := ValidateImageRef(r); err != nil {
			t.Errorf("ValidateImageRef(%q) = %v", r, err)
		}
	}
	for _, r := range bad {
		if err := ValidateImageRef(r); err == nil {
			t.Errorf("ValidateImageRef(%q) = nil, want an error", r)
		}
	}
	// Unpinned images are valid but warned about.
	for _, r := range []string{"golang", "ghcr.io/x/y:latest"} {
		is := checkImage(nil, r)
		if len(is) != 1 || is[0].sev != Warning {
			t.Errorf("checkImage(%q) = %v, want one warning", r, is)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	tests := []struct {
		q    string
		want string // "" = no issue; "warning: ..." or an error substring
	}{
		{"org:octo-org language:Go archived:false fork:false", ""},
		{`org:octo-org topic:"machine learning" stars:>=10 pushed:2024-01-01..* -topic:legacy`, ""},
		{"user:octocat is:public in:name,readme size:<1000 created:>2020-01-01T10:00:00Z", ""},
		{"repo:octo-org/api", ""},
		{"language:Go", "warning: query has no org:"},
		{"org:octo-org color:blue", "warning: unknown search qualifier `color:`"},
		{"org:octo-org langauge:Go", "did you mean `language:`?"},
		{"org:octo-org archived:maybe", "must be one of true, false"},
		{"org:-bad", "not a valid GitHub login"},
		{"org:octo-org stars:lots", "must be a number or range"},
		{`org:octo-org "open`, "unbalanced quote"},
		{"org:octo-org\nlanguage:Go", "must be one line"},
		{"   ", "must not be blank"},
		{"org:x " + strings.Repeat("a", 300), "at most 256"},
		{"org:", "has no value"},
	}
	for _, tt := range tests {
		is := checkQuery(tt.q)
		if tt.want == "" {
			if len(is) != 0 {
				t.Errorf("checkQuery(%q) = %v, want no issue", tt.q, is)
			}
			continue
		}
		found := false
		for _, i := range is {
			msg := i.msg
			if i.sev == Warning {
				msg = "warning: " + msg
			}
			if strings.Contains(msg, tt.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("checkQuery(%q) = %v, want an issue containing %q", tt.q, is, tt.want)
		}
	}
}

func TestEnvNames(t *testing.T) {
	for _, n := range []string{"PATH", "path", "HOME", "GITHUB_TOKEN", "GIT_DIR", "CAMPAIGN_ID", "RUNNER_X"} {
		if !ReservedEnvName(n) {
			t.Errorf("ReservedEnvName(%q) = false", n)
		}
	}
	for _, n := range []string{"GOFLAGS", "NODE_OPTIONS", "GITHUB", "MY_PATH"} {
		if ReservedEnvName(n) {
			t.Errorf("ReservedEnvName(%q) = true", n)
		}
	}
}
