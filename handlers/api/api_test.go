package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/store"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path, header string
		wantStatus                 int
		wantCode, wantMsg          string
	}{
		{"no header", "GET", "/api/v1/campaigns", "", 401, api.CodeUnauthorized, "missing Authorization"},
		{"basic auth", "GET", "/api/v1/campaigns", "Basic dXNlcjpwYXNz", 401, api.CodeUnauthorized, "Bearer"},
		{"empty bearer", "GET", "/api/v1/campaigns", "Bearer ", 401, api.CodeUnauthorized, "Bearer"},
		{"unknown token", "GET", "/api/v1/campaigns", "Bearer cbt_nope", 401, api.CodeUnauthorized, "unknown API token"},
		{"revoked token", "GET", "/api/v1/campaigns", "Bearer " + e.revokd, 401, api.CodeUnauthorized, `"old" was revoked`},
		{"read token, write route", "POST", "/api/v1/runs/1/pause", "Bearer " + e.read, 403, api.CodeForbidden, "needs a write token"},
		{"read token, tokens", "GET", "/api/v1/tokens", "Bearer " + e.read, 403, api.CodeForbidden, "needs a write token"},
		{"read token, revoke", "DELETE", "/api/v1/tokens/1", "Bearer " + e.read, 403, api.CodeForbidden, "needs a write token"},
		{"unauthenticated wins over 404 of the object", "GET", "/api/v1/runs/999", "", 401, api.CodeUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			eb := wantError(t, tc.name, resp.StatusCode, buf.Bytes(), tc.wantStatus, tc.wantCode)
			if !strings.Contains(eb.Error.Message, tc.wantMsg) {
				t.Fatalf("message %q lacks %q", eb.Error.Message, tc.wantMsg)
			}
			if tc.wantStatus == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}

	// A read token reads; a write token reads too.
	for _, tok := range []string{e.read, e.write} {
		var who api.Token
		e.get("/api/v1/whoami", tok, &who)
		if who.Name == "" || who.LastUsedAt == nil {
			t.Fatalf("whoami: %+v", who)
		}
	}
	// The refused write was audited under the token's name.
	entries, err := e.st.APIAudit(context.Background(), store.AuditFilter{Actor: "api:reader"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Outcome != "refused" || entries[0].Action != "token.revoke" || entries[1].Action != "pause" {
		t.Fatalf("audit of refused writes: %+v", entries)
	}
}

func TestLastUsedIsWrittenAtMostOncePerInterval(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.TouchEvery = time.Hour })
	var first, second api.Token
	e.get("/api/v1/whoami", e.read, &first)
	// Push the recorded use back a little: a second request inside the
	// interval must not write it again.
	if _, err := e.st.Pool().Exec(context.Background(), `UPDATE api_tokens SET last_used_at = last_used_at - interval '1 minute' WHERE name = 'reader'`); err != nil {
		t.Fatal(err)
	}
	e.get("/api/v1/whoami", e.read, &second)
	if first.LastUsedAt == nil || second.LastUsedAt == nil || !second.LastUsedAt.Before(*first.LastUsedAt) {
		t.Fatalf("last_used_at rewritten inside the interval: %v then %v", first.LastUsedAt, second.LastUsedAt)
	}
	// Past the interval it is written again.
	if _, err := e.st.Pool().Exec(context.Background(), `UPDATE api_tokens SET last_used_at = now() - interval '2 hours' WHERE name = 'reader'`); err != nil {
		t.Fatal(err)
	}
	var third api.Token
	e.get("/api/v1/whoami", e.read, &third)
	toks, _ := e.st.APITokens(context.Background(), 0, 10)
	for _, tk := range toks {
		if tk.Name == "reader" && (tk.LastUsedAt == nil || time.Since(*tk.LastUsedAt) > time.Minute) {
			t.Fatalf("last_used_at not refreshed after the interval: %v", tk.LastUsedAt)
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	code, body := e.do("GET", "/api/v1/nothing-here", e.read, nil)
	wantError(t, "unknown route", code, body, 404, api.CodeNotFound)
	code, body = e.do("PUT", "/api/v1/campaigns", e.read, nil)
	wantError(t, "wrong method", code, body, 405, api.CodeMethodNotAllowed)
	req, _ := http.NewRequest("DELETE", e.srv.URL+"/api/v1/runs/1/pause", nil)
	req.Header.Set("Authorization", "Bearer "+e.write)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Fatalf("DELETE on an action: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestBadInputAnswersJSON sends every route odd path values, queries and
// bodies: each answer is a JSON body (an error with its code, or data),
// never a 500 or a dropped connection.
func TestBadInputAnswersJSON(t *testing.T) {
	e := newEnv(t)
	s := e.seed([]string{"bump-go"}, []string{"acme/api"})
	values := []string{"%00", "..%2f..%2fetc", "9223372036854775808", "0", "-5", "%E2%80%AE", strings.Repeat("a", 300), "1", fmt.Sprint(s.runID),
		s.tasks["acme/api"].String(), "bump-go"}
	bodies := []string{"", "{", "[]", "null", `{"reason": 5}`, `{"repository": "not a repo"}`, strings.Repeat("x", 1<<15), "\xff\xfe"}
	for _, rt := range e.h.Routes() {
		for i, v := range values {
			path := strings.NewReplacer("{name}", v, "{id}", v, "{version}", v).Replace(rt.Pattern)
			body := bodies[i%len(bodies)]
			for _, q := range []string{"", "?limit=-1", "?cursor=zzz", "?state=%ZZ", "?repo=" + strings.Repeat("*", 300)} {
				req, err := http.NewRequest(rt.Method, e.srv.URL+path+q, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+e.write)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s%s: %v", rt.Method, path, q, err)
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("%s %s%s: %d %s", rt.Method, path, q, resp.StatusCode, buf.String())
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("%s %s%s: %d with %s: %s", rt.Method, path, q, resp.StatusCode, resp.Header.Get("Content-Type"), buf.String())
				}
				if resp.StatusCode >= 400 {
					wantError(t, rt.Method+" "+path+q, resp.StatusCode, buf.Bytes(), resp.StatusCode, codeFor(resp.StatusCode))
				}
			}
		}
	}
}

func codeFor(status int) string {
	return map[int]string{400: api.CodeBadRequest, 401: api.CodeUnauthorized, 403: api.CodeForbidden, 404: api.CodeNotFound,
		405: api.CodeMethodNotAllowed, 409: api.CodeConflict, 413: api.CodeTooLarge, 415: api.CodeUnsupportedMedia, 503: api.CodeUnavailable}[status]
}
