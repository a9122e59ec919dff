package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var schemaFile = filepath.Join("../..", SchemaPath)

// TestSchemaUpToDate fails when the committed schema differs from what the
// Go types generate. Fix with: go generate ./campaigns/spec/
func TestSchemaUpToDate(t *testing.T) {
	got, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(schemaFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("read committed schema (run go generate ./campaigns/spec/): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go generate ./campaigns/spec/ and commit it", SchemaPath)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("campaign-spec.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("campaign-spec.schema.json")
	if err != nil {
		t.Fatalf("generated schema does not compile: %v", err)
	}
	return sch
}

// yamlToJSON turns a YAML spec into the instance a JSON Schema validator in
// an editor would see.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestSchemaAcceptsValidSpecs: the schema is never stricter than Validate.
func TestSchemaAcceptsValidSpecs(t *testing.T) {
	sch := compileSchema(t)
	for name, data := range readFixtures(t, "good") {
		if err := sch.Validate(yamlToJSON(t, data)); err != nil {
			t.Errorf("%s: schema rejects a good spec: %v", name, err)
		}
		s, _ := Parse(name, data)
		canon, err := Canonical(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, canon)); err != nil {
			t.Errorf("%s: schema rejects the canonical form: %v", name, err)
		}
	}
}

// TestSchemaRejectsBadSpecs: the tag-driven constraints reach the schema.
func TestSchemaRejectsBadSpecs(t *testing.T) {
	sch := compileSchema(t)
	bad := readFixtures(t, "bad")
	for _, name := range []string{
		"unknown-key.yaml", "bad-name.yaml", "wrong-version.yaml", "limits.yaml",
		"bad-slack.yaml", "wrong-types.yaml", "missing-keys.yaml", "bad-repo.yaml",
		"bad-duration.yaml", "bad-waves.yaml",
	} {
		data, ok := bad[name]
		if !ok {
			t.Fatalf("fixture %s missing", name)
		}
		if err := sch.Validate(yamlToJSON(t, data)); err == nil {
			t.Errorf("%s: schema accepts a bad spec", name)
		}
	}
}

// TestTags checks every `spec` tag: known keys, known formats, numbers and
// durations that parse. A typo in a tag would otherwise silently disable a
// check in both the validator and the schema.
func TestTags(t *testing.T) {
	known := map[string]bool{"required": true, "unique": true, "enum": true, "format": true, "min": true,
		"max": true, "exclusiveMin": true, "minItems": true, "maxItems": true, "maxLen": true}
	var walk func(reflect.Type)
	seen := map[reflect.Type]bool{}
	walk = func(typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if yamlName(f) == "" {
				continue
			}
			if f.Tag.Get("doc") == "" {
				t.Errorf("%s.%s: no doc tag", typ.Name(), f.Name)
			}
			if tag := f.Tag.Get("spec"); tag != "" {
				for _, part := range strings.Split(tag, ",") {
					k, v, _ := strings.Cut(part, "=")
					if !known[k] {
						t.Errorf("%s.%s: unknown spec tag key %q", typ.Name(), f.Name, k)
					}
					switch k {
					case "format":
						if _, ok := formats[v]; !ok {
							t.Errorf("%s.%s: unknown format %q", typ.Name(), f.Name, v)
						}
					case "min", "max", "exclusiveMin":
						_, errF := strconv.ParseFloat(v, 64)
						_, errD := time.ParseDuration(v)
						if (f.Type == durationType && errD != nil) || (f.Type != durationType && errF != nil) {
							t.Errorf("%s.%s: bad bound %q", typ.Name(), f.Name, v)
						}
					case "minItems", "maxItems", "maxLen":
						if _, err := strconv.Atoi(v); err != nil {
							t.Errorf("%s.%s: bad count %q", typ.Name(), f.Name, v)
						}
					}
				}
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Wave]() {
				walk(ft)
			}
		}
	}
	walk(reflect.TypeFor[Spec]())
	if !seen[reflect.TypeFor[Step]()] || !seen[reflect.TypeFor[Rollout]()] {
		t.Fatal("walk did not reach nested types")
	}
}

// TestFormatPatternsAgree: where a format has a schema pattern, every value
// the validator accepts matches it (the schema must not be stricter).
func TestFormatPatternsAgree(t *testing.T) {
	samples := map[string][]string{
		"name":     {"a", "bump-go-1-26", "x" + strings.Repeat("y", 61) + "z"},
		"owner":    {"octocat", "octo-org/platform", "a/b_c"},
		"login":    {"octocat", "a-b-c", strings.Repeat("a", 39)},
		"team":     {"octo-org/platform", "o/t"},
		"repo":     {"octo-org/api", "a/.github", "a/b_c.d-e"},
		"topic":    {"go", "open-source"},
		"stepName": {"bump", "Set engines", "a.b_c-d"},
		"envName":  {"GOFLAGS", "_x", "a1"},
		"slack":    {"#platform", "#a.b_c-d", "C0123ABCD", "G0123ABCDEF"},
	}
	for name, vals := range samples {
		f := formats[name]
		if f.pattern == "" {
			t.Errorf("format %s: expected a schema pattern", name)
			continue
		}
		re := regexpMust(t, f.pattern)
		for _, v := range vals {
			if issues := f.check(nil, v); len(issues) > 0 {
				t.Errorf("format %s: %q rejected: %v", name, v, issues)
			}
			if !re.MatchString(v) {
				t.Errorf("format %s: schema pattern rejects valid %q", name, v)
			}
		}
	}
}
