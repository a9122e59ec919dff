package spec

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as a Go duration string ("10m",
// "1h30m") in YAML. A bare number is rejected: "600" is ambiguous.
type Duration time.Duration

// String formats the duration without trailing zero units ("10m", not
// "10m0s"), so canonical YAML reads the way people write it.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalYAML writes the short string form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// decodeNode implements nodeDecoder.
func (d *Duration) decodeNode(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return "expected a duration like 10m, got " + describe(n)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		if n.Tag == "!!int" || n.Tag == "!!float" {
			return "a duration needs a unit, e.g. " + n.Value + "s or 10m"
		}
		return "invalid duration " + quote(n.Value) + ": use a Go duration like 90s, 10m or 1h30m"
	}
	*d = Duration(v)
	return ""
}
