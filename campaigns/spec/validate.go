package spec

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// rules is a parsed `spec` struct tag. Bounds stay strings because they are
// numbers or durations depending on the field; each has a has* flag.
type rules struct {
	required, unique bool
	enum             []string
	format           string

	min, max, exclusiveMin string
	hasMin, hasMax, hasX   bool

	minItems, maxItems, maxLen          int
	hasMinItems, hasMaxItems, hasMaxLen bool
}

// parseRules parses a `spec` tag. Tags are compile-time constants checked by
// TestTags, so malformed values simply read as absent here.
func parseRules(tag string) rules {
	var r rules
	for _, part := range strings.Split(tag, ",") {
		k, v, _ := strings.Cut(part, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "required":
			r.required = true
		case "unique":
			r.unique = true
		case "enum":
			r.enum = strings.Split(v, "|")
		case "format":
			r.format = v
		case "min":
			r.min, r.hasMin = v, true
		case "max":
			r.max, r.hasMax = v, true
		case "exclusiveMin":
			r.exclusiveMin, r.hasX = v, true
		case "minItems":
			r.minItems, r.hasMinItems = n, true
		case "maxItems":
			r.maxItems, r.hasMaxItems = n, true
		case "maxLen":
			r.maxLen, r.hasMaxLen = n, true
		}
	}
	return r
}

// checker validates a spec; diagnostics point into src when there is one.
type checker struct {
	spec  *Spec
	src   *source
	diags Diagnostics
}

// Validate checks a spec (with defaults applied first) against every rule
// of spec v1. Parse calls it; call it yourself only for a Spec built in Go,
// whose diagnostics then have no position.
func Validate(s *Spec) Diagnostics {
	if s == nil {
		return Diagnostics{{Severity: Error, Message: "no spec"}}
	}
	c := &checker{spec: s.WithDefaults(), src: s.src}
	c.structFields(reflect.ValueOf(c.spec).Elem(), "")
	c.crossField()
	c.diags.Sort()
	return c.diags
}

func (c *checker) add(sev Severity, p Position, field, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{
		File: c.spec.File(), Line: p.Line, Column: p.Column, Severity: sev,
		Field: field, Message: truncate(fmt.Sprintf(format, args...), maxMessage),
	})
}

// maxMessage caps a message: messages quote values, and a value can be
// nearly as large as the file.
const maxMessage = 500

func (c *checker) errorf(field, format string, args ...any) {
	c.add(Error, c.src.at(field), field, format, args...)
}

func lastKey(path string) string {
	return path[strings.LastIndexAny(path, ".[")+1:]
}

func (c *checker) structFields(v reflect.Value, path string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			c.field(v.Field(i), parseRules(f.Tag.Get("spec")), joinPath(path, name))
		}
	}
}

var durationType = reflect.TypeFor[Duration]()

func (c *checker) field(v reflect.Value, r rules, path string) {
	if c.src.isBad(path) {
		return
	}
	// A parsed spec's required keys must be written; a Go-built spec has no
	// source, so there a zero value counts as missing.
	if r.required && c.src != nil && !c.src.present(path) {
		c.errorf(path, "missing required key `%s`", lastKey(path))
		return
	}
	if v.IsZero() && !c.src.present(path) {
		if r.required {
			c.errorf(path, "missing required key `%s`", lastKey(path))
		}
		return
	}
	// In a parsed spec, a value that was not written is a default: valid by
	// construction, or a copy of another field (commitMessage = title) that
	// is checked, and reported, where it was written.
	if c.src != nil && !c.src.present(path) && v.Kind() != reflect.Struct {
		return
	}
	switch {
	case v.Type() == durationType:
		c.durationBounds(time.Duration(v.Int()), r, path)
	case v.Kind() == reflect.String:
		c.str(v.String(), r, path)
	case v.Kind() == reflect.Int:
		c.number(float64(v.Int()), strconv.FormatInt(v.Int(), 10), r, path)
	case v.Kind() == reflect.Float64:
		c.number(v.Float(), strconv.FormatFloat(v.Float(), 'g', -1, 64), r, path)
	case v.Kind() == reflect.Slice:
		c.list(v, r, path)
	case v.Kind() == reflect.Map:
		c.stringMap(v, r, path)
	case v.Kind() == reflect.Struct:
		c.structFields(v, path)
	}
}

func (c *checker) str(s string, r rules, path string) {
	key := lastKey(path)
	if strings.TrimSpace(s) == "" {
		if r.required {
			c.errorf(path, "`%s` must not be empty", key)
		}
		return
	}
	if len(r.enum) > 0 && !slices.Contains(r.enum, s) {
		c.enumError(s, quote(s), r, path)
		return
	}
	if r.hasMaxLen && utf8.RuneCountInString(s) > r.maxLen {
		c.errorf(path, "`%s` is %d characters long; the limit is %d", key, utf8.RuneCountInString(s), r.maxLen)
		return
	}
	c.format(s, r, path)
}

func (c *checker) format(s string, r rules, path string) {
	f, ok := formats[r.format]
	if !ok {
		return
	}
	for _, is := range f.check(c.spec, s) {
		c.add(is.sev, c.src.within(path, s, is.off), path, "%s", is.msg)
	}
}

func (c *checker) enumError(raw, shown string, r rules, path string) {
	key := lastKey(path)
	if len(r.enum) == 1 {
		c.errorf(path, "`%s` must be %s, got %s", key, r.enum[0], shown)
		return
	}
	msg := fmt.Sprintf("`%s` must be one of %s; got %s", key, strings.Join(r.enum, ", "), shown)
	if s := suggest(raw, r.enum); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	c.errorf(path, "%s", msg)
}

func (c *checker) number(x float64, shown string, r rules, path string) {
	if len(r.enum) > 0 {
		if !slices.Contains(r.enum, shown) {
			c.enumError(shown, shown, r, path)
		}
		return
	}
	lo, _ := strconv.ParseFloat(r.min, 64)
	hi, _ := strconv.ParseFloat(r.max, 64)
	xlo, _ := strconv.ParseFloat(r.exclusiveMin, 64)
	ok := (!r.hasMin || x >= lo) && (!r.hasMax || x <= hi) && (!r.hasX || x > xlo)
	if ok {
		return
	}
	key := lastKey(path)
	switch {
	case r.hasX && r.hasMax:
		c.errorf(path, "`%s` must be greater than %s and at most %s, got %s", key, r.exclusiveMin, r.max, shown)
	case r.hasMin && r.hasMax:
		c.errorf(path, "`%s` must be between %s and %s, got %s", key, r.min, r.max, shown)
	case r.hasMin:
		c.errorf(path, "`%s` must be at least %s, got %s", key, r.min, shown)
	default:
		c.errorf(path, "`%s` must be at most %s, got %s", key, r.max, shown)
	}
}

func (c *checker) durationBounds(d time.Duration, r rules, path string) {
	lo, _ := time.ParseDuration(r.min)
	hi, _ := time.ParseDuration(r.max)
	if (r.hasMin && d < lo) || (r.hasMax && d > hi) {
		c.errorf(path, "`%s` must be between %s and %s, got %s", lastKey(path), r.min, r.max, Duration(d))
	}
}

func (c *checker) list(v reflect.Value, r rules, path string) {
	key, n := lastKey(path), v.Len()
	switch {
	case n == 0 && (r.required || r.hasMinItems):
		c.errorf(path, "`%s` must not be empty", key)
		return
	case r.hasMinItems && n < r.minItems:
		c.errorf(path, "`%s` needs at least %d entries, got %d", key, r.minItems, n)
		return
	case r.hasMaxItems && n > r.maxItems:
		c.errorf(path, "`%s` has %d entries; the limit is %d", key, n, r.maxItems)
		return
	}
	seen := map[string]string{}
	for i := range n {
		item, p := v.Index(i), fmt.Sprintf("%s[%d]", path, i)
		if c.src.isBad(p) {
			continue
		}
		switch item.Kind() {
		case reflect.Struct:
			if item.Type() != reflect.TypeFor[Wave]() {
				c.structFields(item, p)
			}
		case reflect.String:
			s := item.String()
			if s == "" {
				c.errorf(p, "empty entry in `%s`", key)
				continue
			}
			before := len(c.diags)
			c.str(s, rules{format: r.format, maxLen: r.maxLen, hasMaxLen: r.hasMaxLen}, p)
			if r.unique && len(c.diags) == before {
				k := strings.ToLower(s)
				if first, dup := seen[k]; dup {
					c.errorf(p, "duplicate entry %q in `%s` (first at %s)", s, key, c.lineOf(first))
				} else {
					seen[k] = p
				}
			}
		}
	}
}

// lineOf describes where path is, for "first at ..." messages.
func (c *checker) lineOf(path string) string {
	if p := c.src.at(path); p.Line > 0 {
		return fmt.Sprintf("line %d", p.Line)
	}
	return path
}

func (c *checker) stringMap(v reflect.Value, r rules, path string) {
	f, ok := formats[r.format]
	if !ok {
		return
	}
	for _, k := range v.MapKeys() {
		name, p := k.String(), joinPath(path, k.String())
		for _, is := range f.check(c.spec, name) {
			c.add(is.sev, c.src.keyAt(p), p, "%s", is.msg)
		}
	}
}
