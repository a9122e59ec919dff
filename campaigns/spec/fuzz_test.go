package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// FuzzParse: no input may panic; every diagnostic has a position in the
// file; a spec without errors survives a round trip through Canonical.
//
//	go test -fuzz=FuzzParse ./campaigns/spec/
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	for _, dir := range []string{"good", "bad"} {
		paths, _ := filepath.Glob(filepath.Join(fixtures, dir, "*.yaml"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) <= MaxFileSize {
				f.Add(b)
			}
		}
	}
	f.Fuzz(checkParse)
}

// FuzzFields is structure-aware: it fuzzes field values inside a
// well-formed spec, which byte-level mutation of YAML rarely reaches, so the
// validators (templates, queries, images, globs, durations, waves) and the
// position mapping get exercised.
func FuzzFields(f *testing.F) {
	f.Add("bump-go", "org:octo-org language:Go", "golang:1.26", "chore {{ .Repository.Name }}", "{{ .Campaign.Nmae }}", "10m", "10%", "go.mod", "GOFLAGS")
	f.Add("x", `org:a "b c" -topic:x stars:>1`, "a.b:1/c@sha256:00", "{{ printf \"%5d\" 1 }}", "{{ with .Campaign.URL }}{{ . }}{{ end }}", "1h30m", "5", "*/[a-", "1X")
	f.Fuzz(func(t *testing.T, name, query, image, title, body, timeout, wave, glob, envKey string) {
		checkParse(t, fieldsSpec(name, query, image, title, body, timeout, wave, glob, envKey))
	})
}

// fieldsSpec builds a well-formed spec around the fuzzed values.
func fieldsSpec(name, query, image, title, body, timeout, wave, glob, envKey string) []byte {
	doc := map[string]any{
		"version": 1,
		"name":    name,
		"targets": map[string]any{"query": query, "exclude": []string{glob}},
		"steps": []any{map[string]any{
			"name": "s", "image": image, "run": "true", "timeout": timeout,
			"env": map[string]string{envKey: "v"},
		}},
		"changes":     map[string]any{"allow": []string{glob}},
		"pullRequest": map[string]any{"title": title, "body": body},
		"rollout":     map[string]any{"waves": []any{1, wave}},
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil
	}
	return data
}

// checkParse asserts what must hold for any input.
func checkParse(t *testing.T, data []byte) {
	s, diags := Parse("f.yaml", data)
	if s == nil && !diags.HasErrors() {
		t.Fatal("nil spec without an error")
	}
	if !slices.IsSortedFunc(diags, func(a, b Diagnostic) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	}) {
		t.Errorf("diagnostics not sorted: %q", diags.Strings())
	}
	for _, d := range diags {
		if d.File != "f.yaml" || d.Line < 1 || d.Column < 1 || d.Message == "" {
			t.Errorf("diagnostic without position or message: %#v", d)
		}
	}
	if s == nil || diags.HasErrors() {
		return
	}
	canon, err := Canonical(s)
	if err != nil {
		t.Fatalf("Canonical: %v", err)
	}
	s2, diags2 := Parse("canonical.yaml", canon)
	if diags2.HasErrors() {
		t.Fatalf("canonical form has errors:\n%s\n%s", canon, strings.Join(diags2.Strings(), "\n"))
	}
	canon2, err := Canonical(s2)
	if err != nil || !bytes.Equal(canon, canon2) {
		t.Fatalf("canonical form not stable (%v):\n%s\n---\n%s", err, canon, canon2)
	}
	if _, err := RenderPullRequest(s, SampleData(s)); err != nil {
		t.Fatalf("a valid spec does not render: %v", err)
	}
	// The JSON Schema is never stricter than Validate.
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("valid spec, but yaml.Unmarshal fails: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("valid spec, but not representable as JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := fuzzSchema(t).Validate(inst); err != nil {
		t.Fatalf("schema rejects a valid spec:\n%s\n%v", data, err)
	}
}

var (
	fuzzSchemaOnce sync.Once
	fuzzSchemaVal  *jsonschema.Schema
)

// fuzzSchema compiles the schema once per process: fuzzing calls it often.
func fuzzSchema(t *testing.T) *jsonschema.Schema {
	fuzzSchemaOnce.Do(func() { fuzzSchemaVal = compileSchema(t) })
	if fuzzSchemaVal == nil {
		t.Fatal("schema did not compile")
	}
	return fuzzSchemaVal
}

// FuzzBranchName: every branch name is a valid git ref.
func FuzzBranchName(f *testing.F) {
	f.Add(int64(1), 1, "octo-org/api")
	f.Add(int64(-5), -1, "a/..lock.")
	f.Fuzz(func(t *testing.T, id int64, ver int, repo string) {
		if err := ValidateRefName(BranchName(id, ver, repo)); err != nil {
			t.Fatal(err)
		}
	})
}
