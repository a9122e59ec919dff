package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest spec file accepted (256 KiB). A spec is a page
// of YAML; anything bigger is a mistake or an attack on the parser.
const MaxFileSize = 256 << 10

// Parse decodes and validates one spec file. It returns the spec with
// defaults applied and every diagnostic, sorted by position. The spec is nil
// only when the file could not be decoded at all (too big, binary, not YAML,
// not a mapping); otherwise it is returned even when it has errors, so
// callers can show as much as possible. Use Diagnostics.Err to decide.
func Parse(file string, data []byte) (*Spec, Diagnostics) {
	if d, ok := checkRaw(file, data); !ok {
		return nil, Diagnostics{d}
	}
	root, d, ok := parseYAML(file, data)
	if !ok {
		return nil, Diagnostics{d}
	}
	src := newSource(file, data)
	if root.Kind != yaml.MappingNode {
		p := nodePos(root)
		return nil, Diagnostics{{File: file, Line: max(p.Line, 1), Column: max(p.Column, 1), Severity: Error,
			Message: "a spec must be a YAML mapping (version: 1, name: ...), got " + describe(root)}}
	}
	src.locs[""] = loc{val: root}
	s := &Spec{src: src}
	dec := &decoder{src: src}
	dec.value(root, reflect.ValueOf(s).Elem(), "")
	s = s.WithDefaults()
	diags := append(dec.diags, Validate(s)...)
	diags.Sort()
	return s, diags
}

// checkRaw rejects files that are not small UTF-8 text before YAML sees
// them, each with one clear error.
func checkRaw(file string, data []byte) (Diagnostic, bool) {
	at := func(off int, format string, args ...any) (Diagnostic, bool) {
		p := offsetPos(data, off)
		return Diagnostic{File: file, Line: p.Line, Column: p.Column, Severity: Error, Message: fmt.Sprintf(format, args...)}, false
	}
	switch {
	case len(data) > MaxFileSize:
		return at(0, "file is too large: a spec may be at most %d bytes (256 KiB)", MaxFileSize)
	case bytes.IndexByte(data, 0) >= 0:
		return at(bytes.IndexByte(data, 0), "file contains NUL bytes: it looks binary, not a YAML spec (is it UTF-16? save it as UTF-8)")
	case !utf8.Valid(data):
		return at(firstInvalidUTF8(data), "file is not valid UTF-8: save it as UTF-8")
	case len(bytes.TrimSpace(data)) == 0:
		return at(0, "file is empty: a spec needs at least version, name, targets, steps and pullRequest")
	}
	if i := bytes.IndexFunc(data, isBadControl); i >= 0 {
		r, _ := utf8.DecodeRune(data[i:])
		return at(i, "file contains the control character %U: YAML does not allow it", r)
	}
	return Diagnostic{}, true
}

// isBadControl: YAML allows tab, LF and CR among the C0 controls, plus NEL.
func isBadControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f ||
		(r >= 0x80 && r < 0xa0 && r != 0x85) || r == 0xfffe || r == 0xffff
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && w <= 1 {
			return i
		}
		i += w
	}
	return 0
}

// offsetPos converts a byte offset into a 1-based line and column.
func offsetPos(data []byte, off int) Position {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	col := utf8.RuneCount(before[start:]) + 1
	return Position{Line: line, Column: col}
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses exactly one YAML document into a node tree.
func parseYAML(file string, data []byte) (root *yaml.Node, d Diagnostic, ok bool) {
	// yaml.v3 is not known to panic on any input, but a parser bug must
	// become a diagnostic, never a crashed server.
	defer func() {
		if r := recover(); r != nil {
			root, d, ok = nil, Diagnostic{File: file, Line: 1, Column: 1, Severity: Error,
				Message: fmt.Sprintf("invalid YAML: the parser failed (%v)", r)}, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, Diagnostic{File: file, Line: 1, Column: 1, Severity: Error, Message: "file has no YAML content (only comments?)"}, false
	} else if err != nil {
		return nil, yamlError(file, data, err), false
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		p := nodePos(&second)
		if len(second.Content) > 0 {
			p = nodePos(second.Content[0])
		}
		return nil, Diagnostic{File: file, Line: max(p.Line, 1), Column: max(p.Column, 1), Severity: Error,
			Message: "file holds more than one YAML document (---): put each spec in its own file"}, false
	case !errors.Is(err, io.EOF):
		return nil, yamlError(file, data, err), false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, Diagnostic{File: file, Line: 1, Column: 1, Severity: Error, Message: "file has no YAML content"}, false
	}
	return doc.Content[0], Diagnostic{}, true
}

// yamlError converts a yaml.v3 error. yaml.v3 reports only a line; the
// column is that of the first non-blank character of the line (or of a tab,
// for the classic tab-indentation mistake), which is where the problem is
// in practice.
func yamlError(file string, data []byte, err error) Diagnostic {
	msg := err.Error()
	d := Diagnostic{File: file, Line: 1, Column: 1, Severity: Error}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		lines := strings.Split(string(data), "\n")
		d.Line = min(max(n, 1), len(lines))
		line := lines[d.Line-1]
		idx := len(line) - len(strings.TrimLeft(line, " "))
		if strings.Contains(m[2], "cannot start any token") && strings.Contains(line, "\t") {
			idx = strings.IndexByte(line, '\t')
		}
		d.Column = utf8.RuneCountInString(line[:idx]) + 1
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if strings.Contains(msg, "cannot start any token") && strings.Contains(string(data), "\t") {
		msg += " (tabs cannot indent YAML; use spaces)"
	}
	if ln := unclosedQuoteLine(data, d.Line); ln > 0 {
		msg += fmt.Sprintf(" (is the quote opened on line %d closed?)", ln)
	}
	d.Message = "invalid YAML: " + msg
	return d
}

// unclosedQuoteLine finds the last line before line whose double quotes do
// not pair up: yaml.v3 reports an unclosed quote where the scalar finally
// breaks, often many lines later. It returns 0 when there is none.
func unclosedQuoteLine(data []byte, line int) int {
	lines := strings.Split(string(data), "\n")
	for i := min(line-1, len(lines)) - 1; i >= 0; i-- {
		l := strings.ReplaceAll(lines[i], `\"`, "")
		opens := strings.Contains(l, `: "`) || strings.Contains(strings.TrimSpace(l), `- "`)
		if opens && strings.Count(l, `"`)%2 == 1 && !strings.Contains(l, "'") {
			return i + 1
		}
	}
	return 0
}
