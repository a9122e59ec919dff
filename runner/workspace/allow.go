package workspace

import (
	"path"
	"strings"
)

// allowed reports whether a change may touch file under changes.allow.
//
// It is campaigns/spec's Changes.Allowed, repeated here because the
// runner may not import campaigns/ (DESIGN.md §3; tests/arch enforces
// it). allow_test.go checks the two agree on every case, so they cannot
// drift apart silently.
func allowed(allow []string, file string) bool {
	if file == "" || path.Clean(file) != file || path.IsAbs(file) || file == ".." || strings.HasPrefix(file, "../") {
		return false
	}
	if len(allow) == 0 {
		return true
	}
	for _, p := range allow {
		if ok, err := path.Match(p, file); err == nil && ok {
			return true
		}
	}
	return false
}
