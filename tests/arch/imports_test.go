// Package arch_test keeps the direction of imports (DESIGN.md §3):
// cmd -> app -> handlers -> campaigns -> store, runner; nothing but cmd
// imports app; the domain never imports its adapters.
package arch_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/campaignbot/campaignbot/"

type pkg struct {
	ImportPath string
	Imports    []string
}

// rules: a package under the key may not import a package under any of the values.
var rules = map[string][]string{
	"campaigns/":        {"handlers/", "app", "cmd/"},
	"store":             {"campaigns/", "handlers/", "app", "runner/", "queue"},
	"runner/":           {"campaigns/", "handlers/", "app"},
	"queue":             {"campaigns/", "handlers/", "app", "store"},
	"config":            {"campaigns/", "handlers/", "app", "store", "queue"},
	"handlers/":         {"app", "cmd/"},
	"fixtures/":         {"app", "handlers/", "campaigns/", "store", "queue", "runner/"},
	"tests/load/ingest": {"app", "handlers/", "store"},
}

func TestImportDirection(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "../../...")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(&out)
	checked := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			target := strings.TrimPrefix(imp, module)
			for from, banned := range rules {
				if !under(rel, from) {
					continue
				}
				for _, b := range banned {
					if under(target, b) {
						t.Errorf("%s imports %s: the import runs the wrong way (%s must not import %s)", rel, target, from, b)
					}
				}
			}
			if under(target, "app") && !under(rel, "cmd/") && !under(rel, "app") && !strings.HasPrefix(rel, "tests/") {
				t.Errorf("%s imports app: only cmd/ (and tests) may", rel)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no imports checked: go list returned nothing")
	}
}

// under reports whether rel is the package p or below it ("x/" means strictly below x).
func under(rel, p string) bool {
	if strings.HasSuffix(p, "/") {
		return strings.HasPrefix(rel, p)
	}
	return rel == p || strings.HasPrefix(rel, p+"/")
}
