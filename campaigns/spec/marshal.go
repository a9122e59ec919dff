package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Marshal writes the spec as YAML, fields in the documented order, without
// comments. It writes what is in s; see Canonical for the defaults.
func Marshal(s *Spec) ([]byte, error) {
	if s == nil {
		return nil, errors.New("marshal spec: nil spec")
	}
	n, err := toNode(reflect.ValueOf(*s))
	if err != nil {
		return nil, fmt.Errorf("marshal spec: %w", err)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("marshal spec: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal spec: %w", err)
	}
	return b.Bytes(), nil
}

// toNode builds the YAML node tree of a value by reflection over `yaml`
// tags. It exists instead of yaml.Marshal so that string styles can be
// chosen: yaml.v3 writes a multi-line string whose first line is blank or
// starts with whitespace as a block scalar with an indentation indicator
// that it gets wrong inside lists, and the text does not survive a round
// trip (found by FuzzParse). Such strings are double-quoted here.
func toNode(v reflect.Value) (*yaml.Node, error) {
	if m, ok := v.Interface().(yaml.Marshaler); ok {
		x, err := m.MarshalYAML()
		if err != nil {
			return nil, err
		}
		return toNode(reflect.ValueOf(x))
	}
	scalar := func(tag, value string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	}
	switch v.Kind() {
	case reflect.String:
		n := scalar("!!str", v.String())
		if awkwardBlock(n.Value) {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n, nil
	case reflect.Int, reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Float64:
		return scalar("!!float", strconv.FormatFloat(v.Float(), 'g', -1, 64)), nil
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool())), nil
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			c, err := toNode(v.Index(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			c, err := toNode(v.MapIndex(k))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, scalar("!!str", k.String()), c)
		}
		return n, nil
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name := yamlName(f)
			if name == "" || (strings.Contains(f.Tag.Get("yaml"), ",omitempty") && v.Field(i).IsZero()) {
				continue
			}
			c, err := toNode(v.Field(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, scalar("!!str", name), c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("cannot marshal %s", v.Type())
}

// awkwardBlock reports a multi-line string that a block scalar would not
// carry faithfully: its first line is blank or starts with a space or tab
// (see toNode), or it holds a carriage return, which YAML normalises away.
func awkwardBlock(s string) bool {
	if !strings.Contains(s, "\n") {
		return false
	}
	first := strings.TrimLeft(s, "\n")
	return first != s || strings.HasPrefix(first, " ") || strings.HasPrefix(first, "\t") || strings.Contains(s, "\r")
}

// Canonical writes the spec with every default filled in: the spec exactly
// as campaignbot will run it, for the plan check run and the CLI to show so
// that defaults are never a surprise. Parsing the output and writing it
// again gives the same bytes (tested, and fuzzed).
func Canonical(s *Spec) ([]byte, error) {
	return Marshal(s.WithDefaults())
}

// ContentHash identifies a spec version: the lowercase hex SHA-256 of the
// raw file bytes. Approvals are bound to it, so it deliberately covers
// everything the approver read: any byte change, even whitespace or a
// comment, makes a new spec version and voids an approval. (Hashing a
// canonical form would let a change the canonicaliser happened to drop slip
// past an approval.) For a Spec built in Go it is the hash of Marshal's
// output.
func (s *Spec) ContentHash() string {
	if s == nil {
		return ""
	}
	raw := []byte(nil)
	if s.src != nil {
		raw = s.src.raw
	} else if b, err := Marshal(s); err == nil {
		raw = b
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
