package spec

import "testing"

func TestTargetsExcluded(t *testing.T) {
	tg := Targets{Exclude: []string{"octo-org/legacy-*", "*/sandbox", "[bad"}}
	tests := map[string]bool{
		"octo-org/legacy-api": true,
		"Octo-Org/Legacy-API": true,
		"octo-org/api":        false,
		"other/sandbox":       true,
		"other/sandbox-2":     false,
		"octo-org/a/legacy-x": false,
	}
	for repo, want := range tests {
		if got := tg.Excluded(repo); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", repo, got, want)
		}
	}
}

func TestChangesAllowed(t *testing.T) {
	if !(Changes{}).Allowed("anything/at/all") || (Changes{}).Allowed("../escape") {
		t.Error("empty allow list must allow every clean relative path, and only those")
	}
	c := Changes{Allow: []string{"go.mod", "go.sum", "*/go.mod", ".github/CODEOWNERS"}}
	tests := map[string]bool{
		"go.mod":             true,
		"./go.mod":           false, // not clean: never allowed
		"/go.mod":            false,
		"svc/go.mod":         true,
		"a/b/go.mod":         false,
		"main.go":            false,
		"../go.mod":          false,
		".github/CODEOWNERS": true,
		"Go.mod":             false,
	}
	for f, want := range tests {
		if got := c.Allowed(f); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", f, got, want)
		}
	}
}
