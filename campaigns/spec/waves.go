package spec

import (
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Wave is the cumulative size of a rollout wave: either a number of
// repositories (Count > 0) or a share of all targets (Percent, 0 < p <= 100,
// with Count == 0). Written in YAML as 5 or "10%".
type Wave struct {
	Count   int
	Percent float64
}

// String returns "5" or "10%".
func (w Wave) String() string {
	if w.Count != 0 || w.Percent == 0 {
		return strconv.Itoa(w.Count)
	}
	return strconv.FormatFloat(w.Percent, 'f', -1, 64) + "%"
}

// MarshalYAML writes a count as an integer and a percentage as "N%".
func (w Wave) MarshalYAML() (any, error) {
	if w.Count != 0 || w.Percent == 0 {
		return w.Count, nil
	}
	return w.String(), nil
}

// decodeNode implements nodeDecoder. Range and order are checked by the
// validator so that Go-built specs get the same checks.
func (w *Wave) decodeNode(n *yaml.Node) string {
	const want = `expected a wave size: a count like 5 or a percentage like "10%"`
	if n.Kind != yaml.ScalarNode {
		return want + ", got " + describe(n)
	}
	if n.Tag == "!!int" {
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || v > math.MaxInt32 || v < math.MinInt32 {
			return "wave count " + n.Value + " is out of range"
		}
		*w = Wave{Count: int(v)}
		return ""
	}
	num, ok := strings.CutSuffix(n.Value, "%")
	if !ok {
		return want + ", got " + quote(n.Value)
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
		return want + ", got " + quote(n.Value)
	}
	*w = Wave{Percent: p}
	return ""
}

// WaveSizes resolves the waves to cumulative repository counts for a run
// with total targets: percentages round up, sizes are capped at total,
// non-increasing sizes are dropped, and the last size is always total (the
// implied final 100% wave). It returns nil when total <= 0.
func (r Rollout) WaveSizes(total int) []int {
	if total <= 0 {
		return nil
	}
	var out []int
	for _, w := range r.Waves {
		n := w.Count
		if w.Count == 0 {
			// Clamp first: converting a huge float to int is undefined.
			n = int(math.Ceil(float64(total) * min(max(w.Percent, 0), 100) / 100))
		}
		n = min(n, total)
		if n <= 0 || (len(out) > 0 && n <= out[len(out)-1]) {
			continue
		}
		out = append(out, n)
	}
	if len(out) == 0 || out[len(out)-1] != total {
		out = append(out, total)
	}
	return out
}
