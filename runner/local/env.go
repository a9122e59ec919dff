package local

import (
	"fmt"
	"sort"
	"strings"
)

// basePath is the PATH steps get unless their env sets one.
const basePath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

// stepEnv is the complete environment of a step: a minimal PATH, HOME and
// LANG, then the step's own variables. Nothing comes from the worker's
// environment, so no credential of the worker (nor the checkout token,
// which is never in any environment but git's) can reach a step.
func stepEnv(env map[string]string, home, tmp string) ([]string, error) {
	vars := map[string]string{"PATH": basePath, "HOME": home, "LANG": "C.UTF-8", "TMPDIR": tmp}
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("invalid environment variable %q", k)
		}
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}
