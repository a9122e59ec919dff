package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	f.Fuzz(func(t *testing.T, data []byte) {
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
	})
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
