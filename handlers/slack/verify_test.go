package slack_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/handlers/slack"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// Sign signs body as Slack does (v0) at ts.
func sign(secret, body string, ts time.Time) (string, string) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":" + body))
	return "v0=" + hex.EncodeToString(mac.Sum(nil)), stamp
}

func TestForgedOrStaleRequestsAreRefused(t *testing.T) {
	body := "command=%2Fcampaign&text=pause+bump-go&user_id=U1&team_id=T1&channel_id=C1"
	good, now := sign(secret, body, time.Now())
	forged, _ := sign("not-the-secret", body, time.Now())
	stale, staleStamp := sign(secret, body, time.Now().Add(-6*time.Minute))
	cases := []struct {
		name, sig, stamp, body string
	}{
		{"wrong secret", forged, now, body},
		{"body changed after signing", good, now, body + "&text=resume"},
		{"stale timestamp", stale, staleStamp, body},
		{"no signature", "", now, body},
		{"no timestamp", good, "", body},
		{"not v0", strings.Replace(good, "v0=", "v1=", 1), now, body},
		{"not hex", "v0=zz", now, body},
	}
	h := slack.New(slack.Config{SigningSecret: secret}, nil, nil, nil)
	for _, c := range cases {
		for route, serve := range map[string]http.HandlerFunc{slack.CommandsRoute: h.Commands, slack.ActionsRoute: h.Actions} {
			t.Run(c.name+" "+route, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodPost, route, strings.NewReader(c.body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if c.sig != "" {
					req.Header.Set("X-Slack-Signature", c.sig)
				}
				if c.stamp != "" {
					req.Header.Set("X-Slack-Request-Timestamp", c.stamp)
				}
				rec := httptest.NewRecorder()
				serve(rec, req) // a nil store would panic if the request got past the check
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", rec.Code)
				}
				var out map[string]string
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || !strings.Contains(out["error"], "invalid Slack signature") {
					t.Fatalf("body %q is not a JSON error: %v", rec.Body.String(), err)
				}
			})
		}
	}
}

func TestSignedHelpIsAnswered(t *testing.T) {
	body := "command=%2Fcampaign&text=help&user_id=U1"
	sig, stamp := sign(secret, body, time.Now())
	req := httptest.NewRequest(http.MethodPost, slack.CommandsRoute, strings.NewReader(body))
	req.Header.Set("X-Slack-Signature", sig)
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	rec := httptest.NewRecorder()
	slack.New(slack.Config{SigningSecret: secret}, nil, nil, nil).Commands(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Usage") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}
