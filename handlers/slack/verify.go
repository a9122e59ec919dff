package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	slackgo "github.com/slack-go/slack"
)

// maxBody bounds a Slack request; Slack's payloads are a few kilobytes.
const maxBody = 256 << 10

// verified reads the body and checks Slack's signature over it; on failure
// it has answered 401 and returns false.
func verified(w http.ResponseWriter, r *http.Request, secret string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request body too large or unreadable"})
		return nil, false
	}
	if err := checkSignature(r.Header, body, secret); err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid Slack signature: " + err.Error()})
		return nil, false
	}
	return body, true
}

// checkSignature verifies X-Slack-Signature (v0) and that the timestamp is
// within five minutes, both by slack-go's verifier.
func checkSignature(h http.Header, body []byte, secret string) error {
	if secret == "" {
		return errors.New("no signing secret configured")
	}
	sv, err := slackgo.NewSecretsVerifier(h, secret)
	if err != nil {
		return fmt.Errorf("headers: %w", err)
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
