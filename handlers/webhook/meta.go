package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Meta is what every log line and row of a delivery carries.
type Meta struct {
	Action         string
	InstallationID int64
	Repository     string
}

// parseMeta validates payload as one JSON object (RFC 8259, as strictly as
// encoding/json) and picks out action, installation.id and
// repository.full_name in a single pass. Deliveries are 10-30 KB; this is
// the hottest code on the webhook path, and encoding/json scans a body
// twice (validate, then decode).
func parseMeta(payload []byte) (Meta, error) {
	s := scanner{b: payload}
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return Meta{}, ErrBadPayload
	}
	var m Meta
	if err := s.object(0, "", &m); err != nil {
		return Meta{}, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	s.space()
	if s.i != len(s.b) {
		return Meta{}, fmt.Errorf("%w: data after the top-level object at offset %d", ErrBadPayload, s.i)
	}
	return m, nil
}

type scanner struct {
	b []byte
	i int
}

const maxDepth = 512

func (s *scanner) errorf(what string) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", s.i, what)
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value; parent is the top-level key it sits under
// ("" elsewhere), so the few fields we want can be captured on the way.
func (s *scanner) value(depth int, parent string, m *Meta) error {
	s.space()
	if s.i >= len(s.b) {
		return s.errorf("unexpected end")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth+1, parent, m)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := s.number()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.errorf("unexpected character")
	}
}

func (s *scanner) object(depth int, parent string, m *Meta) error {
	if depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	s.i++ // '{'
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errorf("expected a key")
		}
		rawKey, keyEscaped, err := s.str()
		if err != nil {
			return err
		}
		// Keys we look for have no escapes; comparing raw bytes avoids allocating.
		key := ""
		if !keyEscaped {
			key = keyOf(rawKey[1 : len(rawKey)-1])
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errorf("expected ':'")
		}
		s.i++
		s.space()
		if err := s.member(depth, parent, key, m); err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.b) {
			return s.errorf("unexpected end in object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or '}'")
		}
	}
}

// member scans the value of key, capturing the fields Meta wants.
func (s *scanner) member(depth int, parent, key string, m *Meta) error {
	switch {
	case depth == 0 && key == "action" && s.i < len(s.b) && s.b[s.i] == '"':
		raw, esc, err := s.str()
		if err == nil {
			m.Action = stringValue(raw, esc)
		}
		return err
	case depth == 0 && (key == "installation" || key == "repository"):
		return s.value(depth, key, m)
	case depth == 1 && parent == "installation" && key == "id" && s.i < len(s.b) && s.b[s.i] != '"':
		raw, err := s.number()
		if err == nil {
			m.InstallationID, _ = strconv.ParseInt(string(raw), 10, 64)
		}
		return err
	case depth == 1 && parent == "repository" && key == "full_name" && s.i < len(s.b) && s.b[s.i] == '"':
		raw, esc, err := s.str()
		if err == nil {
			m.Repository = stringValue(raw, esc)
		}
		return err
	}
	return s.value(depth, "", m)
}

func (s *scanner) array(depth int) error {
	if depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	s.i++ // '['
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth, "", nil); err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.b) {
			return s.errorf("unexpected end in array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or ']'")
		}
	}
}

// str scans a string and returns its raw bytes (no allocation); escaped
// reports whether they hold escapes (then use decodeStr).
func (s *scanner) str() ([]byte, bool, error) {
	start := s.i
	s.i++ // opening quote
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start:s.i], escaped, nil
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return nil, false, s.errorf("unexpected end in string")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex(s.b[s.i+2:s.i+6]) {
					return nil, false, s.errorf("bad \\u escape")
				}
				s.i += 6
			default:
				return nil, false, s.errorf("bad escape")
			}
		case c < 0x20:
			return nil, false, s.errorf("control character in string")
		default:
			s.i++
		}
	}
	return nil, false, s.errorf("unterminated string")
}

// stringValue turns a scanned string (with its quotes) into its value.
func stringValue(raw []byte, escaped bool) string {
	// Invalid UTF-8 goes through encoding/json too, which replaces it with U+FFFD.
	if inner := raw[1 : len(raw)-1]; !escaped && utf8.Valid(inner) {
		return string(inner)
	}
	var v string
	_ = json.Unmarshal(raw, &v) // the scanner validated the escapes
	return v
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (s *scanner) number() ([]byte, error) {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, s.errorf("bad number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, s.errorf("bad fraction")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, s.errorf("bad exponent")
		}
	}
	return s.b[start:s.i], nil
}

// keyOf maps the keys parseMeta cares about to constants without
// allocating; every other key is "".
func keyOf(k []byte) string {
	switch string(k) { // the compiler does not allocate for this conversion
	case "action":
		return "action"
	case "installation":
		return "installation"
	case "repository":
		return "repository"
	case "id":
		return "id"
	case "full_name":
		return "full_name"
	}
	return ""
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.errorf("bad literal")
	}
	s.i += len(lit)
	return nil
}
