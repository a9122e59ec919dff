package spec

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Position is a 1-based line and column (columns count characters).
type Position struct {
	Line, Column int
}

// loc holds the key and value nodes of one field path.
type loc struct {
	key, val *yaml.Node
}

// source remembers where a parsed spec came from, so that validation of the
// decoded Go values can point back into the file.
type source struct {
	file  string
	raw   []byte
	lines []string
	locs  map[string]loc
	// bad marks paths whose value failed to decode: the validator skips them
	// so that one mistake is reported once.
	bad map[string]bool
}

func newSource(file string, raw []byte) *source {
	return &source{
		file:  file,
		raw:   raw,
		lines: strings.Split(string(raw), "\n"),
		locs:  map[string]loc{},
		bad:   map[string]bool{},
	}
}

func nodePos(n *yaml.Node) Position {
	if n == nil || n.Line <= 0 {
		return Position{}
	}
	return Position{Line: n.Line, Column: max(n.Column, 1)}
}

// present reports whether path was written in the file.
func (s *source) present(path string) bool {
	if s == nil {
		return false
	}
	_, ok := s.locs[path]
	return ok
}

// written reports whether path was written in the file with a non-null
// value; `key:` with nothing after it counts as unset.
func (s *source) written(path string) bool {
	if s == nil {
		return false
	}
	l, ok := s.locs[path]
	return ok && l.val != nil && !isNull(l.val)
}

// isBad reports whether path or one of its ancestors failed to decode.
func (s *source) isBad(path string) bool {
	if s == nil {
		return false
	}
	for p := path; ; p = parentPath(p) {
		if s.bad[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// at returns the position of path's value (its key when the value is null),
// or of the nearest ancestor that exists: a missing key is reported at its
// parent mapping.
func (s *source) at(path string) Position {
	if s == nil {
		return Position{}
	}
	for p := path; ; p = parentPath(p) {
		if l, ok := s.locs[p]; ok {
			if l.val != nil && !(l.key != nil && isNull(l.val)) {
				return nodePos(l.val)
			}
			return nodePos(l.key)
		}
		if p == "" {
			return Position{Line: 1, Column: 1}
		}
	}
}

// keyAt returns the position of path's key, falling back to at.
func (s *source) keyAt(path string) Position {
	if s != nil {
		if l, ok := s.locs[path]; ok && l.key != nil {
			return nodePos(l.key)
		}
	}
	return s.at(path)
}

// within returns the position of the text at byte offset off of path's
// string value. It finds the text in the source lines the value spans, so it
// is exact for plain, quoted and block scalars alike, and falls back to the
// value's own position when the text cannot be found (escapes, folding).
func (s *source) within(path, value string, off int) Position {
	base := s.at(path)
	if s == nil {
		return base
	}
	l, ok := s.locs[path]
	if !ok || l.val == nil || off <= 0 || off > len(value) {
		return base
	}
	needle := value[off:]
	if i := strings.IndexByte(needle, '\n'); i >= 0 {
		needle = needle[:i]
	}
	if len(needle) > 24 {
		needle = needle[:24]
	}
	if strings.TrimSpace(needle) == "" {
		return base
	}
	// The n-th line of the value is on or after source line base.Line+n.
	// Folding turns source line breaks into spaces, so the value ends at
	// most (line breaks + spaces) lines further on.
	nth := strings.Count(value[:off], "\n")
	prefix := value[strings.LastIndexByte(value[:off], '\n')+1 : off]
	last := min(base.Line+strings.Count(value, "\n")+strings.Count(value, " ")+2, len(s.lines))
	// First look for the occurrence preceded by the same text as in the
	// value (exact for plain, quoted and literal scalars), then for any
	// occurrence (folded scalars, where the prefix may be on another line).
	for _, needPrefix := range []bool{true, false} {
		for ln := max(base.Line+nth, 1); ln <= last; ln++ {
			line := s.lines[ln-1]
			from := 0
			if ln == base.Line {
				from = byteIndexOfColumn(line, base.Column)
			}
			for i := from; i <= len(line); {
				j := strings.Index(line[i:], needle)
				if j < 0 {
					break
				}
				at := i + j
				if !needPrefix || strings.HasSuffix(line[:at], prefix) {
					return Position{Line: ln, Column: utf8.RuneCountInString(line[:at]) + 1}
				}
				i = at + 1
			}
		}
	}
	return base
}

// byteIndexOfColumn converts a 1-based character column to a byte index.
func byteIndexOfColumn(line string, col int) int {
	i := 0
	for c := 1; c < col && i < len(line); c++ {
		_, w := utf8.DecodeRuneInString(line[i:])
		i += w
	}
	return i
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Position returns the position of a field path (like "rollout.waves[1]") in
// the file the spec was parsed from, or of its nearest ancestor when the
// field was not written. It is the zero Position for a Spec built in Go.
func (s *Spec) Position(field string) Position {
	if s == nil {
		return Position{}
	}
	return s.src.at(field)
}

// File returns the file name the spec was parsed from.
func (s *Spec) File() string {
	if s == nil || s.src == nil {
		return ""
	}
	return s.src.file
}
