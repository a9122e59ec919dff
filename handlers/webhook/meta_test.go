package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/campaignbot/campaignbot/fixtures/githubfake/contract"
)

func TestParseMeta(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Meta
		bad      bool
	}{
		{"all fields", `{"action":"created","installation":{"id":42,"node_id":"x"},"repository":{"id":1,"full_name":"o/r"}}`, Meta{"created", 42, "o/r"}, false},
		{"nested lookalikes ignored", `{"comment":{"action":"no","installation":{"id":9}},"issue":{"repository":{"full_name":"x/y"}}}`, Meta{}, false},
		{"escapes", `{"action":"cr\u0065ated","repository":{"full_name":"o\/r"}}`, Meta{Action: "created", Repository: "o/r"}, false},
		{"whitespace", " \n{ \"action\" : \"a\" ,\t\"x\":[1,2.5e3,-0,true,false,null,{}] }\r\n", Meta{Action: "a"}, false},
		{"last duplicate wins", `{"action":"a","action":"b"}`, Meta{Action: "b"}, false},
		{"non-string action tolerated", `{"action":5}`, Meta{}, false},
		{"empty object", `{}`, Meta{}, false},
		{"array", `[1]`, Meta{}, true},
		{"null", `null`, Meta{}, true},
		{"empty", ``, Meta{}, true},
		{"truncated", `{"action":"a"`, Meta{}, true},
		{"trailing data", `{} {}`, Meta{}, true},
		{"trailing comma", `{"a":1,}`, Meta{}, true},
		{"single quotes", `{'a':1}`, Meta{}, true},
		{"leading zero", `{"a":01}`, Meta{}, true},
		{"bare minus", `{"a":-}`, Meta{}, true},
		{"bad escape", `{"a":"\x"}`, Meta{}, true},
		{"control char", "{\"a\":\"\x01\"}", Meta{}, true},
		{"bad literal", `{"a":tru}`, Meta{}, true},
		{"deep nesting", string(bytes.Repeat([]byte("["), 600)) + string(bytes.Repeat([]byte("]"), 600)), Meta{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMeta([]byte(tc.in))
			if tc.bad {
				if !errors.Is(err, ErrBadPayload) {
					t.Fatalf("want ErrBadPayload, got %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseMetaOnGitHubExamples(t *testing.T) {
	for _, ex := range contract.Examples() {
		got, err := parseMeta(ex.Payload)
		if err != nil {
			t.Errorf("%s/%s: %v", ex.Event, ex.Name, err)
			continue
		}
		if want := referenceMeta(ex.Payload); got != want {
			t.Errorf("%s/%s: got %+v, want %+v", ex.Event, ex.Name, got, want)
		}
	}
}

// referenceMeta is parseMeta written the slow, obvious way.
func referenceMeta(b []byte) Meta {
	var top map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&top) != nil {
		return Meta{}
	}
	var m Meta
	m.Action, _ = top["action"].(string)
	if in, ok := top["installation"].(map[string]any); ok {
		if n, ok := in["id"].(json.Number); ok {
			m.InstallationID, _ = strconv.ParseInt(string(n), 10, 64)
		}
	}
	if r, ok := top["repository"].(map[string]any); ok {
		m.Repository, _ = r["full_name"].(string)
	}
	return m
}

// FuzzParseMeta checks the scanner against encoding/json: the same inputs
// are valid, and the same fields come out. No input may panic.
func FuzzParseMeta(f *testing.F) {
	for _, s := range []string{`{}`, `{"action":"a","installation":{"id":1},"repository":{"full_name":"o/r"}}`, `[`, `{"a":"\u00e9"}`, `{"a":1e5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) >= maxDepth {
			return // parseMeta caps nesting on purpose; encoding/json allows deeper
		}
		got, err := parseMeta(b)
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		wantValid := json.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{'
		if wantValid != (err == nil) {
			t.Fatalf("valid=%v but parseMeta err=%v for %q", wantValid, err, b)
		}
		if err == nil {
			if want := referenceMeta(b); got != want {
				t.Fatalf("got %+v, want %+v for %q", got, want, b)
			}
		}
	})
}
