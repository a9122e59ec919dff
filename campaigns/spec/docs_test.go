package spec

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestDocsCoverEveryField keeps docs/api/spec.md honest: every field has a
// "### `path`" section with a YAML example, and every default stated
// there is the real one.
func TestDocsCoverEveryField(t *testing.T) {
	b, err := os.ReadFile("../../docs/api/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	defaults := (&Spec{Steps: []Step{{}}}).WithDefaults()
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			heading := "### `" + path + "`"
			at := strings.Index(doc, heading+"\n")
			if at < 0 {
				t.Errorf("spec.md has no section %q", heading)
				continue
			}
			section := doc[at+len(heading):]
			if end := strings.Index(section, "\n### "); end >= 0 {
				section = section[:end]
			}
			if !strings.Contains(section, "```yaml") {
				t.Errorf("section %s has no YAML example", heading)
			}
			fv := v.Field(i)
			if want, ok := docDefault(fv); ok && !strings.Contains(section, "default **`"+want+"`**") {
				t.Errorf("section %s does not state the default **`%s`**", heading, want)
			}
			switch {
			case fv.Kind() == reflect.Struct && fv.Type() != durationType:
				walk(fv, path)
			case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct && fv.Type().Elem() != reflect.TypeFor[Wave]():
				if fv.Len() > 0 {
					walk(fv.Index(0), path+"[]")
				}
			}
		}
	}
	walk(reflect.ValueOf(*defaults), "")
}

// docDefault formats a non-zero one-line default as spec.md writes it.
func docDefault(v reflect.Value) (string, bool) {
	switch x := v.Interface().(type) {
	case Duration:
		return x.String(), x != 0
	case []Wave:
		parts := make([]string, len(x))
		for i, w := range x {
			parts[i] = w.String()
		}
		return "[" + strings.Join(parts, ", ") + "]", len(x) > 0
	case string:
		return x, x != "" && !strings.Contains(x, "\n")
	case int:
		return strconv.Itoa(x), x != 0
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), x != 0
	case bool:
		return fmt.Sprint(x), false
	}
	return "", false
}
