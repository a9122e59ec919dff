package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const minimal = `version: 1
name: bump-go
targets:
  query: "org:octo-org language:Go"
steps:
  - name: bump
    image: golang:1.26-alpine
    run: go mod edit -go=1.26
pullRequest:
  title: "chore: bump Go in {{ .Repository.Name }}"
`

func mustParse(t *testing.T, src string) *Spec {
	t.Helper()
	s, diags := Parse("spec.yaml", []byte(src))
	if s == nil || len(diags) > 0 {
		t.Fatalf("Parse: %s", strings.Join(diags.Strings(), "\n"))
	}
	return s
}

func TestParseAppliesDefaults(t *testing.T) {
	s := mustParse(t, minimal)
	checks := []struct {
		name      string
		got, want any
	}{
		{"approval", s.Rollout.Approval, DefaultApproval},
		{"maxOpenPRs", s.Rollout.MaxOpenPRs, DefaultMaxOpenPRs},
		{"prsPerHour", s.Rollout.PRsPerHour, DefaultPRsPerHour},
		{"waves", s.Rollout.Waves, []Wave{{Percent: 100}}},
		{"pauseOnFailureRate", s.Rollout.PauseOnFailureRate, DefaultPauseOnFailureRate},
		{"baseChanged", s.Drift.BaseChanged, BaseChangedRebase},
		{"humanEdits", s.Drift.HumanEdits, HumanEditsStop},
		{"timeout", s.Steps[0].Timeout, Duration(10 * time.Minute)},
		{"body", s.PullRequest.Body, DefaultBody},
		{"commitMessage", s.PullRequest.CommitMessage, s.PullRequest.Title},
		{"draft", s.PullRequest.Draft, false},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	canon, err := Canonical(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"maxOpenPRs: 100", "prsPerHour: 60", "- 100%", "timeout: 10m", "approval: required", "humanEdits: stop"} {
		if !strings.Contains(string(canon), want) {
			t.Errorf("canonical form lacks %q:\n%s", want, canon)
		}
	}
}

func equal(a, b any) bool {
	if wa, ok := a.([]Wave); ok {
		return slices.Equal(wa, b.([]Wave))
	}
	return a == b
}

// An explicit zero is the author's value, not "unset": it must be reported,
// not silently replaced by the default.
func TestExplicitZeroIsNotDefaulted(t *testing.T) {
	src := minimal + "rollout:\n  maxOpenPRs: 0\n  waves: []\npullRequestX: 1\n"
	_, diags := Parse("spec.yaml", []byte(strings.Replace(src, "pullRequestX: 1\n", "", 1)))
	got := strings.Join(diags.Strings(), "\n")
	for _, want := range []string{
		"spec.yaml:12:15: `maxOpenPRs` must be between 1 and 10000, got 0",
		"spec.yaml:13:10: `waves` must not be empty",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestNullValueMeansUnset(t *testing.T) {
	s := mustParse(t, minimal+"  commitMessage:\nrollout:\n  prsPerHour: ~\n")
	if s.PullRequest.CommitMessage != s.PullRequest.Title || s.Rollout.PRsPerHour != DefaultPRsPerHour {
		t.Errorf("null values were not defaulted: %q %d", s.PullRequest.CommitMessage, s.Rollout.PRsPerHour)
	}
}

func TestParseReturnsSpecDespiteErrors(t *testing.T) {
	s, diags := Parse("spec.yaml", []byte(strings.Replace(minimal, "name: bump-go", "name: Bump", 1)))
	if s == nil || !diags.HasErrors() || s.Name != "Bump" {
		t.Fatalf("want a spec with errors, got %v %v", s, diags)
	}
	if s.Rollout.MaxOpenPRs != DefaultMaxOpenPRs {
		t.Errorf("defaults not applied on a spec with errors")
	}
}

func TestLeadingDocumentMarkerIsOneDocument(t *testing.T) {
	mustParse(t, "---\n"+minimal)
}

func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal)
	b.WriteString("x0: &a0 [l, l, l, l, l, l, l, l, l, l]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("x" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	// Put the bomb where the decoder must expand it: owners is a list.
	src := b.String() + "owners: *a9\n"
	start := time.Now()
	_, diags := Parse("bomb.yaml", []byte(src))
	if time.Since(start) > 5*time.Second {
		t.Errorf("decoding took %v", time.Since(start))
	}
	if !diags.HasErrors() {
		t.Fatal("no error for an alias bomb")
	}
}

func TestDiagnostics(t *testing.T) {
	ds := Diagnostics{
		{File: "b.yaml", Line: 1, Column: 1, Message: "b"},
		{File: "a.yaml", Line: 3, Column: 2, Severity: Warning, Message: "w"},
		{File: "a.yaml", Line: 3, Column: 1, Message: "e"},
		{File: "a.yaml", Message: "no position"},
	}
	ds.Sort()
	want := []string{"a.yaml: no position", "a.yaml:3:1: e", "a.yaml:3:2: warning: w", "b.yaml:1:1: b"}
	if got := ds.Strings(); !slices.Equal(got, want) {
		t.Errorf("sorted = %q, want %q", got, want)
	}
	if got := len(ds.Errors()); got != 3 {
		t.Errorf("Errors() = %d, want 3", got)
	}
	var ve *ValidationError
	if err := ds.Err(); !errors.As(err, &ve) || len(ve.Diagnostics) != 3 || !strings.Contains(err.Error(), "a.yaml:3:1: e") {
		t.Errorf("Err() = %v", err)
	}
	if err := ds.Warnings().Err(); err != nil {
		t.Errorf("warnings only: Err() = %v, want nil", err)
	}
	if err := (Diagnostics{}).Err(); err != nil {
		t.Errorf("empty: Err() = %v", err)
	}
}

func TestDiagnosticJSON(t *testing.T) {
	in := Diagnostics{{File: "a.yaml", Line: 3, Column: 7, Severity: Warning, Field: "rollout.waves[1]", Message: "m"}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"file":"a.yaml","line":3,"column":7,"severity":"warning","field":"rollout.waves[1]","message":"m"}]`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var out Diagnostics
	if err := json.Unmarshal(b, &out); err != nil || !slices.Equal(out, in) {
		t.Errorf("round trip: %v %+v", err, out)
	}
	if err := json.Unmarshal([]byte(`[{"severity":"fatal"}]`), &out); err == nil {
		t.Error("unknown severity accepted")
	}
}

func TestValidateSet(t *testing.T) {
	a := File{Path: "campaigns/a.yaml", Data: []byte(minimal)}
	b := File{Path: "campaigns/b.yaml", Data: []byte("# same name\n" + minimal)}
	c := File{Path: "campaigns/c.yaml", Data: []byte(strings.Replace(minimal, "bump-go", "other", 1))}
	want := []string{`campaigns/b.yaml:3:7: campaign name "bump-go" is already used by campaigns/a.yaml: names must be unique in the control repository`}
	for _, files := range [][]File{{a, b, c}, {c, b, a}} {
		if got := ValidateSet(files).Strings(); !slices.Equal(got, want) {
			t.Errorf("ValidateSet = %q, want %q", got, want)
		}
	}
	specs, diags := ParseSet([]File{c, a, b})
	if len(specs) != 3 || specs["campaigns/c.yaml"].Name != "other" || specs["campaigns/b.yaml"].Name != "bump-go" || len(diags) != 1 {
		t.Errorf("ParseSet = %v, %q", specs, diags.Strings())
	}
	bad := File{Path: "campaigns/d.yaml", Data: []byte("version: 2\n")}
	if got := ValidateSet([]File{a, bad}); !got.HasErrors() || got[0].File != "campaigns/d.yaml" {
		t.Errorf("per-file diagnostics missing: %q", got.Strings())
	}
}

func TestValidateFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", []byte(minimal))
	huge := write("huge.yaml", []byte(strings.Repeat("#", 10*MaxFileSize)))
	missing := filepath.Join(dir, "missing.yaml")
	diags, err := ValidateFiles([]string{good, huge, missing})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
	got := strings.Join(diags.Strings(), "\n")
	for _, want := range []string{
		huge + ":1:1: file is too large",
		missing + ": cannot read file: no such file or directory",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(diags) != 2 {
		t.Errorf("want 2 diagnostics, got:\n%s", got)
	}
	diags, err = ValidateFiles([]string{good})
	if err != nil || len(diags) != 0 {
		t.Errorf("good file: %v %q", err, diags.Strings())
	}
	// A directory stands for the spec files below it. Files are compared
	// in path order, so the duplicate is reported on good.yaml.
	sub := filepath.Join(dir, "campaigns", "team")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "dup.yml"), []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "README.md"), []byte("not a spec"), 0o644); err != nil {
		t.Fatal(err)
	}
	diags, err = ValidateFiles([]string{good, filepath.Join(dir, "campaigns")})
	if err != nil || len(diags) != 1 || diags[0].File != good || !strings.Contains(diags[0].Message, "already used by "+filepath.Join(sub, "dup.yml")) {
		t.Errorf("directory: %v %q", err, diags.Strings())
	}
}

func TestContentHash(t *testing.T) {
	s := mustParse(t, minimal)
	sum := sha256.Sum256([]byte(minimal))
	if got := s.ContentHash(); got != hex.EncodeToString(sum[:]) {
		t.Errorf("ContentHash = %s, want sha256 of the raw bytes", got)
	}
	// A whitespace change is a new version, by design.
	s2 := mustParse(t, minimal+"\n")
	if s2.ContentHash() == s.ContentHash() {
		t.Error("whitespace change kept the hash")
	}
	built := &Spec{Version: 1, Name: "x"}
	if h := built.ContentHash(); len(h) != 64 || h == s.ContentHash() {
		t.Errorf("Go-built spec hash %q", h)
	}
}

func TestValidateGoBuiltSpec(t *testing.T) {
	s := &Spec{
		Version:     1,
		Name:        "built",
		Targets:     Targets{Repositories: []string{"octo-org/api"}},
		Steps:       []Step{{Name: "x", Run: "true"}},
		PullRequest: PullRequest{Title: "t"},
	}
	if d := Validate(s); len(d) != 0 {
		t.Errorf("valid Go-built spec: %q", d.Strings())
	}
	s.Rollout.PauseOnFailureRate = 2
	s.PullRequest = PullRequest{}
	got := Validate(s).Strings()
	want := []string{
		"`pauseOnFailureRate` must be greater than 0 and at most 1, got 2",
		"missing required key `title`",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Validate = %q, want %q", got, want)
	}
}

func TestWaveSizes(t *testing.T) {
	tests := []struct {
		waves []Wave
		total int
		want  []int
	}{
		{nil, 10, []int{10}},
		{DefaultWaves(), 7, []int{7}},
		{[]Wave{{Count: 5}, {Count: 50}, {Percent: 100}}, 1000, []int{5, 50, 1000}},
		{[]Wave{{Count: 5}, {Count: 50}}, 1000, []int{5, 50, 1000}},
		{[]Wave{{Count: 5}, {Count: 50}, {Percent: 100}}, 20, []int{5, 20}},
		{[]Wave{{Count: 1}, {Percent: 10}, {Percent: 50}}, 25, []int{1, 3, 13, 25}},
		{[]Wave{{Count: 1}, {Percent: 1}}, 10, []int{1, 10}},
		{[]Wave{{Count: 3}}, 0, nil},
	}
	for _, tt := range tests {
		if got := (Rollout{Waves: tt.waves}).WaveSizes(tt.total); !slices.Equal(got, tt.want) {
			t.Errorf("WaveSizes(%v, %d) = %v, want %v", tt.waves, tt.total, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"version", "name", "pullRequest", "repositories", "timeout"}
	tests := map[string]string{
		"pullrequest": "pullRequest", "pulRequest": "pullRequest", "nmae": "name",
		"repos": "repositories", "timout": "timeout", "color": "", "x": "",
	}
	for in, want := range tests {
		if got := suggest(in, cands); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMarshalRoundTripsAwkwardStrings: whatever a string holds, Canonical
// writes YAML that parses back to the same string.
func TestMarshalRoundTripsAwkwardStrings(t *testing.T) {
	for _, run := range []string{
		" 0\n", "\n0\n", "\n  x\ny", "a\n", "a", "a\n\n\n", "  lead\n  both  \n", "tab\there\n", "\tx\ny",
		"crlf\r\nline\r\n", "---\n...\n", "# not a comment\n", "key: value", "- item\n", "{{ .X }}", "é ü\n", "\"q\" 'q'\n",
		"true", "100", "~", "null", "0x1F", "1e3", "yes", "a\rb", " ", "\t", "a\u0085b", "a\u2028b", "\ufeffbom", "trailing \n",
	} {
		s := mustParse(t, minimal)
		s.Steps[0].Run = run
		out, err := Canonical(s)
		if err != nil {
			t.Fatalf("%q: %v", run, err)
		}
		s2, diags := Parse("c.yaml", out)
		// Blank runs are invalid specs; only the text matters here.
		if s2 == nil || (diags.HasErrors() && strings.TrimSpace(run) != "") {
			t.Fatalf("%q: canonical form does not parse:\n%s\n%q", run, out, diags.Strings())
		}
		if s2.Steps[0].Run != run {
			t.Errorf("run %q came back as %q:\n%s", run, s2.Steps[0].Run, out)
		}
	}
}

func TestLongValuesGiveShortMessages(t *testing.T) {
	long := strings.Repeat("Ab_", 30_000) // two of them stay under MaxFileSize
	_, diags := Parse("x.yaml", []byte(strings.Replace(minimal, "name: bump-go", "name: "+long, 1)+"owners: ["+long+"]\n"))
	if len(diags) != 2 {
		t.Fatalf("want 2 diagnostics, got %d", len(diags))
	}
	for _, d := range diags {
		if n := len([]rune(d.Message)); n > 500 {
			t.Errorf("message of %d characters", n)
		}
	}
}
