package spec

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the work of decoding one file. yaml.v3 keeps aliases as
// references, so a few kilobytes of anchors can expand to millions of
// values; a real spec has a few hundred nodes.
const maxNodes = 200_000

// nodeDecoder is implemented by types with their own YAML shape (Duration,
// Wave). It returns an error message, or "" on success.
type nodeDecoder interface {
	decodeNode(n *yaml.Node) string
}

// decoder turns a yaml.Node tree into Go values by reflection over `yaml`
// tags, recording the node of every field path. Doing this ourselves rather
// than with node.Decode is what gives every error an exact position and lets
// unknown keys get suggestions.
type decoder struct {
	src      *source
	diags    Diagnostics
	nodes    int
	exceeded bool
	// alias is the alias node being expanded, if any: positions inside an
	// alias point at the alias, where the author used the value, rather
	// than at the anchor, which may be valid where it is defined.
	alias *yaml.Node
}

// record remembers the nodes of a field path.
func (d *decoder) record(path string, key, val *yaml.Node) {
	if d.alias != nil {
		key, val = d.alias, d.alias
	}
	d.src.locs[path] = loc{key: key, val: val}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if d.alias != nil {
		n = d.alias
	}
	p := nodePos(n)
	if p.Line == 0 {
		p = d.src.at(path)
	}
	d.diags = append(d.diags, Diagnostic{
		File: d.src.file, Line: p.Line, Column: p.Column, Severity: Error,
		Field: path, Message: truncate(fmt.Sprintf(format, args...), maxMessage),
	})
}

// value decodes n into v (addressable) at path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n != nil && n.Kind == yaml.AliasNode && d.alias == nil {
		d.alias = n
		defer func() { d.alias = nil }()
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return
	}
	if d.nodes++; d.nodes > maxNodes {
		if !d.exceeded {
			d.exceeded = true
			d.errorf(n, path, "document is too large to decode (more than %d values, after expanding aliases)", maxNodes)
		}
		return
	}
	if isNull(n) {
		return // unset: the zero value, then the default
	}
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		if msg := nd.decodeNode(n); msg != "" {
			d.fail(n, path, "%s", msg)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		d.stringMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "expected a string, got %s", describe(n))
			return
		}
		if !plainTags[n.Tag] {
			// !!binary or a custom tag (!Ref): the text would not mean
			// what it says.
			d.fail(n, path, "unsupported YAML tag %s: write a plain string", n.Tag)
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.fail(n, path, "expected an integer, got %s", describe(n))
			return
		}
		if n.Decode(&i) != nil || i > math.MaxInt32 || i < math.MinInt32 {
			d.fail(n, path, "integer %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!float" && n.Tag != "!!int") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n, path, "expected a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		d.fail(n, path, "internal error: cannot decode into %s", v.Type())
	}
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.src.bad[path] = true
	d.errorf(n, path, format, args...)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping (key: value), got %s", describe(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]*yaml.Node{}
	var suggested []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, path)
		if !ok {
			continue
		}
		p := joinPath(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(k, p, "duplicate key `%s` (first at line %d)", name, first.Line)
			continue
		}
		seen[name] = k
		f, ok := fields[name]
		if !ok {
			if s := d.unknownKey(k, p, name, fields); s != "" {
				suggested = append(suggested, s)
			}
			continue
		}
		d.record(p, k, val)
		d.commentedValue(k, val, p)
		d.value(val, v.FieldByIndex(f.Index), p)
	}
	// A suggested key the author did not write is there, misspelt: do not
	// also report it as missing.
	for _, s := range suggested {
		if _, written := seen[s]; !written {
			d.src.bad[joinPath(path, s)] = true
		}
	}
}

// key returns a mapping key's text; keys must be plain strings.
func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	for k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		d.errorf(k, path, "a key must be a string, got %s", describe(k))
		return "", false
	}
	if k.Tag == "!!merge" {
		d.errorf(k, path, "merge keys (<<) are not supported in specs; write the keys out")
		return "", false
	}
	return k.Value, true
}

// unknownKey reports an unknown key and returns the key suggested for it.
func (d *decoder) unknownKey(k *yaml.Node, path, name string, fields map[string]reflect.StructField) string {
	d.src.bad[path] = true
	names := orderedFields(fields)
	if s := suggest(name, names); s != "" {
		d.errorf(k, path, "unknown key `%s` (did you mean `%s`?)", name, s)
		return s
	}
	d.errorf(k, path, "unknown key `%s` (valid keys: %s)", name, strings.Join(names, ", "))
	return ""
}

// commentedValue catches `slack: #platform`: the # starts a comment, so the
// value silently becomes null. It is almost never what the author meant.
func (d *decoder) commentedValue(k, val *yaml.Node, path string) {
	if !isNull(val) || val.Value != "" || k.Line < 1 || k.Line > len(d.src.lines) {
		return
	}
	line := d.src.lines[k.Line-1]
	rest := line[min(byteIndexOfColumn(line, k.Column)+len(k.Value), len(line)):]
	after, ok := strings.CutPrefix(strings.TrimLeft(rest, "\"' "), ":")
	if !ok {
		return
	}
	after = strings.TrimLeft(after, " \t")
	if strings.HasPrefix(after, "#") && len(after) > 1 && after[1] != ' ' {
		d.src.bad[path] = true
		d.errorf(k, path, "the value of `%s` is empty because # starts a YAML comment; quote it: %s: %q",
			k.Value, k.Value, strings.TrimSpace(after))
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode {
			d.fail(n, path, "expected a list, got %s; write [%s]", describe(n), n.Value)
			return
		}
		d.fail(n, path, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.record(p, nil, item)
		d.value(item, s.Index(i), p)
	}
	v.Set(s)
}

func (d *decoder) stringMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping (key: value), got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, path)
		if !ok {
			continue
		}
		p := joinPath(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(k, p, "duplicate key `%s` (first at line %d)", name, first.Line)
			continue
		}
		seen[name] = k
		d.record(p, k, val)
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(val, e, p)
		m.SetMapIndex(reflect.ValueOf(name), e)
	}
	v.Set(m)
}

// plainTags are the scalar tags whose text is taken as a string as is.
var plainTags = map[string]bool{"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!timestamp": true}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names a node's kind for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	v := truncate(n.Value, 40)
	switch n.Tag {
	case "!!str":
		return "a string " + quote(v)
	case "!!int":
		return "an integer " + v
	case "!!float":
		return "a number " + v
	case "!!bool":
		return "a boolean " + v
	case "!!null":
		return "null"
	}
	return "a value " + quote(v)
}

func quote(s string) string { return strconv.Quote(s) }

// yamlFields maps yaml key names to struct fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			out[name] = f
		}
	}
	return out
}

// orderedFields returns the keys of fields in declaration order, which
// reads better than alphabetical order in messages.
func orderedFields(fields map[string]reflect.StructField) []string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Compare(fields[a].Index[0], fields[b].Index[0])
	})
	return names
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}
