package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/campaignbot/campaignbot/store"
)

// TokenPrefix starts every API token, so secret scanners and people can
// tell one apart from other credentials.
const TokenPrefix = "cbt_"

// NewToken returns a fresh token and the hash to store: the token is
// shown once and never stored.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate API token: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token: hex SHA-256. Tokens carry 256
// random bits, so a fast hash is enough (no password stretching needed).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ValidScope reports whether s is a token scope.
func ValidScope(s string) bool { return s == store.ScopeRead || s == store.ScopeWrite }

func (h *Handler) authenticate(r *http.Request) (store.APIToken, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return store.APIToken{}, errorf(CodeUnauthorized, "missing Authorization: Bearer <API token>")
	}
	scheme, tok, ok := strings.Cut(auth, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return store.APIToken{}, errorf(CodeUnauthorized, "the Authorization header must be: Bearer <API token>")
	}
	t, found, err := h.cfg.Store.AuthenticateAPIToken(r.Context(), HashToken(tok), h.cfg.TouchEvery)
	if err != nil {
		return t, fmt.Errorf("authenticate: %w", err)
	}
	switch {
	case !found:
		return t, errorf(CodeUnauthorized, "unknown API token")
	case t.RevokedAt != nil:
		return t, errorf(CodeUnauthorized, fmt.Sprintf("API token %q was revoked", t.Name))
	case !ValidScope(t.Scope):
		return t, errorf(CodeForbidden, fmt.Sprintf("API token %q has an unknown scope %q", t.Name, t.Scope))
	}
	return t, nil
}
