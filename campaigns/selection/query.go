package selection

import (
	"strings"
	"time"
)

// searchCap is the most results GitHub returns for one search query.
const searchCap = 1000

// qualifier returns the values of key: in a search query (case-insensitive
// key, negated terms skipped).
func qualifier(q, key string) []string {
	var out []string
	for _, term := range strings.Fields(q) {
		k, v, ok := strings.Cut(term, ":")
		if ok && strings.EqualFold(k, key) {
			out = append(out, strings.Trim(v, `"`))
		}
	}
	return out
}

// forksWanted reports whether the query asks for forks; otherwise forks
// found by search are excluded, as GitHub's own search does by default.
func forksWanted(q string) bool {
	for _, v := range qualifier(q, "fork") {
		if strings.EqualFold(v, "true") || strings.EqualFold(v, "only") {
			return true
		}
	}
	return false
}

// splittable reports whether selection may add created: ranges to q: not
// when the author already restricted creation dates, since two created:
// qualifiers do not combine predictably.
func splittable(q string) bool {
	return len(qualifier(q, "created")) == 0 && len(qualifier(q, "-created")) == 0
}

// githubEpoch is before the first repository on GitHub, the lower end of a
// split's first range.
var githubEpoch = time.Date(2007, 10, 1, 0, 0, 0, 0, time.UTC)

// dateRange is an inclusive range of creation times at second precision.
// A zero bound is open: the first range has no lower bound and the last no
// upper bound, so repositories created while resolving are not lost.
type dateRange struct {
	lo, hi time.Time
}

const dateLayout = "2006-01-02T15:04:05Z"

// qualify returns q restricted to the range.
func (d dateRange) qualify(q string) string {
	switch {
	case d.lo.IsZero() && d.hi.IsZero():
		return q
	case d.lo.IsZero():
		return q + " created:<=" + d.hi.UTC().Format(dateLayout)
	case d.hi.IsZero():
		return q + " created:>=" + d.lo.UTC().Format(dateLayout)
	}
	return q + " created:" + d.lo.UTC().Format(dateLayout) + ".." + d.hi.UTC().Format(dateLayout)
}

// split cuts the range into at most n parts of equal duration; a range
// of one second cannot be split (ok false).
func (d dateRange) split(n int, now time.Time) ([]dateRange, bool) {
	lo, hi := d.lo, d.hi
	if lo.IsZero() {
		lo = githubEpoch
	}
	if hi.IsZero() {
		hi = now.UTC().Truncate(time.Second).Add(time.Hour)
	}
	span := int64(hi.Sub(lo) / time.Second)
	if span < 1 {
		return nil, false
	}
	if int64(n) > span+1 {
		n = int(span + 1)
	}
	parts := make([]dateRange, 0, n)
	start := d.lo
	for i := 1; i <= n; i++ {
		var end time.Time
		if i < n {
			end = lo.Add(time.Duration(span*int64(i)/int64(n)) * time.Second)
		} else {
			end = d.hi
		}
		parts = append(parts, dateRange{lo: start, hi: end})
		if !end.IsZero() {
			start = end.Add(time.Second)
		}
	}
	return parts, true
}
