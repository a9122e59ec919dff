package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// SchemaPath is where `go generate ./campaigns/spec/` writes the schema,
// relative to the repository root.
const SchemaPath = "docs/api/campaign-spec.schema.json"

// schema is the subset of JSON Schema (draft 2020-12) the generator emits.
// Field order here is the key order in the output.
type schema struct {
	Schema               string             `json:"$schema,omitempty"`
	Title                string             `json:"title,omitempty"`
	Description          string             `json:"description,omitempty"`
	Type                 any                `json:"type,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Default              any                `json:"default,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	MinLength            *int               `json:"minLength,omitempty"`
	MaxLength            *int               `json:"maxLength,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	ExclusiveMinimum     *float64           `json:"exclusiveMinimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	MaxItems             *int               `json:"maxItems,omitempty"`
	UniqueItems          bool               `json:"uniqueItems,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	PropertyNames        *schema            `json:"propertyNames,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"`
	OneOf                []*schema          `json:"oneOf,omitempty"`
}

// scalarTypes are the JSON types a YAML plain scalar can decode to.
var scalarTypes = []string{"string", "number", "boolean"}

// durationPattern matches what time.ParseDuration accepts (unsigned).
const durationPattern = `^([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))*$`

// JSONSchema returns the JSON Schema of spec v1, generated from the Go types,
// their `spec` and `doc` tags, the formats table and WithDefaults, the same
// sources the validator uses. Editors use it for completion and early
// errors; it is looser than Validate (no cross-field rules, no template or
// query checks), never stricter.
func JSONSchema() ([]byte, error) {
	// A spec with one step, so that step defaults are generated too.
	defaults := (&Spec{Steps: []Step{{}}}).WithDefaults()
	root := genStruct(reflect.TypeFor[Spec](), reflect.ValueOf(*defaults))
	root.Schema = "https://json-schema.org/draft/2020-12/schema"
	root.Title = "campaignbot campaign spec v1"
	root.Description = "A campaign: one change made across many repositories. Reference: docs/api/spec.md."
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode JSON schema: %w", err)
	}
	return b.Bytes(), nil
}

func genStruct(t reflect.Type, def reflect.Value) *schema {
	s := &schema{Type: "object", Properties: map[string]*schema{}, AdditionalProperties: false}
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		r := parseRules(f.Tag.Get("spec"))
		var fd reflect.Value
		if def.IsValid() {
			fd = def.Field(i)
		}
		p := genField(f.Type, r, fd)
		nullable(p)
		p.Description = f.Tag.Get("doc")
		if f.Type == durationType {
			p.Description += fmt.Sprintf(" Between %s and %s.", r.min, r.max)
		}
		s.Properties[name] = p
		if r.required {
			s.Required = append(s.Required, name)
		}
	}
	return s
}

func genField(t reflect.Type, r rules, def reflect.Value) *schema {
	var s *schema
	switch {
	case t == durationType:
		s = &schema{Type: "string", Pattern: durationPattern}
	case t == reflect.TypeFor[Wave]():
		s = &schema{OneOf: []*schema{
			{Type: "integer", Minimum: ptr(1.0)},
			{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?|\.[0-9]+)%$`},
		}}
	case t.Kind() == reflect.String:
		// The decoder takes any plain scalar as a string (CGO_ENABLED: 0,
		// labels: [2024]), so the schema must too; an enum still pins it.
		s = &schema{Type: scalarTypes}
		for _, e := range r.enum {
			s.Type = "string"
			s.Enum = append(s.Enum, e)
		}
		if f, ok := formats[r.format]; ok {
			s.Pattern = f.pattern
			if f.pattern == "" {
				s.Description = f.desc
			}
		}
		if r.required {
			s.MinLength = ptr(1)
		}
		if r.hasMaxLen {
			s.MaxLength = ptr(r.maxLen)
		}
	case t.Kind() == reflect.Int:
		s = &schema{Type: "integer"}
		genNumber(s, r)
	case t.Kind() == reflect.Float64:
		s = &schema{Type: "number"}
		genNumber(s, r)
	case t.Kind() == reflect.Bool:
		s = &schema{Type: "boolean"}
	case t.Kind() == reflect.Slice:
		var ed reflect.Value
		if def.IsValid() && def.Len() > 0 {
			ed = def.Index(0)
		}
		s = &schema{Type: "array", Items: genField(t.Elem(), rules{format: r.format, maxLen: r.maxLen, hasMaxLen: r.hasMaxLen}, ed)}
		s.Items.Default = nil
		if r.required || r.hasMinItems {
			s.MinItems = ptr(max(r.minItems, 1))
		}
		if r.hasMaxItems {
			s.MaxItems = ptr(r.maxItems)
		}
		s.UniqueItems = r.unique
	case t.Kind() == reflect.Map:
		s = &schema{Type: "object", AdditionalProperties: &schema{Type: scalarTypes}}
		if f, ok := formats[r.format]; ok && f.pattern != "" {
			s.PropertyNames = &schema{Pattern: f.pattern}
		}
	case t.Kind() == reflect.Struct:
		s = genStruct(t, def)
	default:
		s = &schema{}
	}
	if def.IsValid() && !def.IsZero() && t.Kind() != reflect.Struct {
		s.Default = jsonValue(def)
	}
	return s
}

// nullable lets a property be null: `key:` with no value means "unset" to
// the decoder, so the schema must accept it.
func nullable(s *schema) {
	switch t := s.Type.(type) {
	case string:
		s.Type = []string{t, "null"}
	case []string:
		s.Type = append(slices.Clone(t), "null")
	}
	if len(s.Enum) > 0 {
		s.Enum = append(s.Enum, nil)
	}
}

func genNumber(s *schema, r rules) {
	for _, e := range r.enum {
		if n, err := strconv.ParseFloat(e, 64); err == nil {
			s.Enum = append(s.Enum, n)
		}
	}
	num := func(v string) *float64 {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil
		}
		return &n
	}
	if r.hasMin {
		s.Minimum = num(r.min)
	}
	if r.hasMax {
		s.Maximum = num(r.max)
	}
	if r.hasX {
		s.ExclusiveMinimum = num(r.exclusiveMin)
	}
}

// jsonValue converts a default to what it looks like in YAML.
func jsonValue(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case Duration:
		return x.String()
	case Wave:
		y, _ := x.MarshalYAML()
		return y
	}
	if v.Kind() == reflect.Slice {
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonValue(v.Index(i))
		}
		return out
	}
	if v.Kind() == reflect.String {
		return strings.Clone(v.String())
	}
	return v.Interface()
}

func ptr[T any](v T) *T { return &v }
