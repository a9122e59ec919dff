package spec

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and the committed JSON Schema")

const fixtures = "../../fixtures/specs"

func readFixtures(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtures, dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// TestGoodFixtures: every good spec parses with no diagnostic at all, and
// its canonical form parses back to the same canonical form.
func TestGoodFixtures(t *testing.T) {
	good := readFixtures(t, "good")
	if len(good) < 6 {
		t.Fatalf("want at least 6 good fixtures, got %d", len(good))
	}
	for name, data := range good {
		t.Run(name, func(t *testing.T) {
			s, diags := Parse(name, data)
			if s == nil || len(diags) > 0 {
				t.Fatalf("Parse: spec=%v diagnostics:\n%s", s != nil, strings.Join(diags.Strings(), "\n"))
			}
			canon, err := Canonical(s)
			if err != nil {
				t.Fatal(err)
			}
			s2, diags := Parse("canonical.yaml", canon)
			if len(diags) > 0 {
				t.Fatalf("canonical form does not parse cleanly:\n%s\n%s", canon, strings.Join(diags.Strings(), "\n"))
			}
			canon2, err := Canonical(s2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(canon, canon2) {
				t.Errorf("canonical form is not stable:\n%s\n---\n%s", canon, canon2)
			}
		})
	}
}

// TestBadFixtures compares the diagnostics of every bad spec with the
// golden file next to it (go test -run TestBadFixtures -update rewrites
// them; review the diff).
func TestBadFixtures(t *testing.T) {
	bad := readFixtures(t, "bad")
	if len(bad) < 12 {
		t.Fatalf("want at least 12 bad fixtures, got %d", len(bad))
	}
	for name, data := range bad {
		t.Run(name, func(t *testing.T) {
			_, diags := Parse(name, data)
			if !diags.HasErrors() {
				t.Errorf("no error reported")
			}
			for _, d := range diags {
				if d.Line < 1 || d.Column < 1 {
					t.Errorf("diagnostic without position: %s", d)
				}
			}
			got := strings.Join(diags.Strings(), "\n") + "\n"
			golden := filepath.Join(fixtures, "bad", strings.TrimSuffix(name, ".yaml")+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run with -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
