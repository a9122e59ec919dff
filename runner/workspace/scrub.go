package workspace

import (
	"encoding/base64"
	"strings"
)

// redacted replaces a secret in any text this package produces.
const redacted = "[REDACTED]"

// secretsFor returns every form in which token could appear in git's
// output: the basic-auth value built from it, and itself.
func secretsFor(token string) []string {
	if token == "" {
		return nil
	}
	return []string{basicAuth(token), token}
}

// basicAuth is the value GitHub expects for an installation token.
func basicAuth(token string) string {
	return base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
}

// scrub removes every secret from s.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}
