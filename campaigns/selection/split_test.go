package selection

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func (d dateRange) contains(t time.Time) bool {
	t = t.UTC().Truncate(time.Second)
	return (d.lo.IsZero() || !t.Before(d.lo)) && (d.hi.IsZero() || !t.After(d.hi))
}

// TestPlanParts checks the bisection on synthetic creation dates, skewed
// to recent years like GitHub's: every repository falls in exactly one
// part, no part exceeds the cap, and counting takes few requests.
func TestPlanParts(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name    string
		created []time.Time
		maxReqs int
		warn    bool
	}{
		{"uniform 5000", spread(5000, githubEpoch, now, func() float64 { return rng.Float64() }), 3, false},
		{"skewed 20000", spread(20000, githubEpoch, now, func() float64 { return 1 - rng.Float64()*rng.Float64()*rng.Float64() }), 6, false},
		{"1500 in one second", same(1500, now.Add(-time.Hour)), 40, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs := 0
			count := func(ctx context.Context, rs []dateRange) ([]int, error) {
				reqs += (len(rs) + countsPerDocument - 1) / countsPerDocument
				out := make([]int, len(rs))
				for i, r := range rs {
					for _, c := range tt.created {
						if r.contains(c) {
							out[i]++
						}
					}
				}
				return out, nil
			}
			parts, warnings, err := planParts(context.Background(), "org:x", len(tt.created), count, now)
			if err != nil {
				t.Fatal(err)
			}
			if (len(warnings) > 0) != tt.warn {
				t.Fatalf("warnings = %q, want some: %v", warnings, tt.warn)
			}
			if reqs > tt.maxReqs {
				t.Errorf("count requests = %d, want <= %d", reqs, tt.maxReqs)
			}
			for _, c := range tt.created {
				n := 0
				for _, p := range parts {
					if p.r.contains(c) {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("%v is in %d parts", c, n)
				}
			}
			for i, p := range parts {
				if p.count > searchCap && !tt.warn {
					t.Errorf("part %d (%s) has %d results", i, p.r.qualify("q"), p.count)
				}
				if i > 0 && !parts[i-1].r.lo.Before(p.r.lo) {
					t.Errorf("parts not ordered at %d", i)
				}
			}
		})
	}
}

func spread(n int, lo, hi time.Time, f func() float64) []time.Time {
	out := make([]time.Time, n)
	span := hi.Sub(lo)
	for i := range out {
		out[i] = lo.Add(time.Duration(f() * float64(span)))
	}
	return out
}

func same(n int, t time.Time) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t
	}
	return out
}

func TestQualify(t *testing.T) {
	a := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	b := a.Add(time.Hour)
	for _, tt := range []struct {
		r    dateRange
		want string
	}{
		{dateRange{}, "org:x"},
		{dateRange{hi: a}, "org:x created:<=2020-01-02T03:04:05Z"},
		{dateRange{lo: a}, "org:x created:>=2020-01-02T03:04:05Z"},
		{dateRange{lo: a, hi: b}, "org:x created:2020-01-02T03:04:05Z..2020-01-02T04:04:05Z"},
	} {
		if got := tt.r.qualify("org:x"); got != tt.want {
			t.Errorf("qualify(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
	for q, want := range map[string]bool{"org:x": false, "org:x fork:true": true, "org:x Fork:only": true, "org:x fork:false": false} {
		if forksWanted(q) != want {
			t.Errorf("forksWanted(%q) != %v", q, want)
		}
	}
	if splittable("org:x created:>2020-01-01") || !splittable("org:x") || !strings.Contains(dateRange{lo: a}.qualify(""), "created") {
		t.Error("splittable")
	}
}
