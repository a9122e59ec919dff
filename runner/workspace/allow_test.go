package workspace

import (
	"testing"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// The runner repeats spec's matcher (it may not import campaigns/); this
// keeps them identical. Test imports are outside tests/arch's rule.
func TestAllowedAgreesWithSpec(t *testing.T) {
	allows := [][]string{nil, {"go.mod"}, {"*.go", "docs/*"}, {"a/*/c", "[ab]*"}, {"["}, {"*"}}
	paths := []string{"go.mod", "svc/go.mod", "a.go", "x/a.go", "docs/readme.md", "docs/x/y.md", "a/b/c", "b",
		"", ".", "..", "../x", "./go.mod", "/abs", "a//b", "dir/", "Go.mod", "sub/../go.mod", "[", "*"}
	for _, a := range allows {
		for _, p := range paths {
			if got, want := allowed(a, p), (spec.Changes{Allow: a}).Allowed(p); got != want {
				t.Errorf("allowed(%q, %q) = %v, spec says %v", a, p, got, want)
			}
		}
	}
}
