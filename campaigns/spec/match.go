package spec

import (
	"path"
	"strings"
)

// The spec defines what its patterns mean, so it also provides the
// matchers: selection and the runner must not each reinvent them.

// Excluded reports whether the repository "owner/name" matches one of
// targets.exclude. GitHub names are case-insensitive, so matching is too.
// Invalid patterns (rejected by validation) match nothing.
func (t Targets) Excluded(fullName string) bool {
	name := strings.ToLower(fullName)
	for _, p := range t.Exclude {
		if ok, err := path.Match(strings.ToLower(p), name); err == nil && ok {
			return true
		}
	}
	return false
}

// Allowed reports whether a change may touch the repository-relative file
// path: true when changes.allow is empty, otherwise when a pattern matches
// (path.Match, case-sensitive like file systems on the runners). A path
// that is not clean and relative ("./x", "../x", "/x") is never allowed: it
// is a safety net, and such a path means something is wrong upstream.
func (c Changes) Allowed(file string) bool {
	if file == "" || path.Clean(file) != file || path.IsAbs(file) || file == ".." || strings.HasPrefix(file, "../") {
		return false
	}
	if len(c.Allow) == 0 {
		return true
	}
	for _, p := range c.Allow {
		if ok, err := path.Match(p, file); err == nil && ok {
			return true
		}
	}
	return false
}
