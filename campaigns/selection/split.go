package selection

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// part is one created: range of a search query and its result count.
type part struct {
	r     dateRange
	count int
}

// countFunc returns GitHub's repositoryCount for the query restricted to
// each range.
type countFunc func(ctx context.Context, ranges []dateRange) ([]int, error)

// maxSplitRounds bounds the bisection: each round multiplies the number of
// parts, so this is far more than any real distribution needs.
const maxSplitRounds = 12

// maxBalanceRounds bounds splitting done only for balance (parts under the
// cap but over partLimit): a dense cluster of creation dates is not worth
// a count request per round.
const maxBalanceRounds = 2

// planParts splits query q, which matches total repositories, into created:
// ranges that each match at most searchCap, asking GitHub for counts one
// round at a time (all new ranges of a round in one request). Ranges that
// match nothing are dropped. A range that still exceeds the cap when it
// cannot be split further is kept, with a warning: its first 1,000 results
// are all GitHub will give.
//
// Parts are also kept small enough that the page rounds stay few: pages of
// one part are sequential (each needs the previous cursor) while pages of
// different parts share a document, so five parts of 240 take three
// documents where one of 840 and one of 360 take nine.
func planParts(ctx context.Context, q string, total int, count countFunc, now time.Time) ([]part, []string, error) {
	limit := partLimit(total)
	pending := []part{{count: total}}
	var done []part
	var warnings []string
	for round := 0; len(pending) > 0; round++ {
		var probe []dateRange
		for _, p := range pending {
			if p.count <= limit || p.count <= searchCap && round >= maxBalanceRounds {
				done = append(done, p)
				continue
			}
			subs, ok := p.r.split(splitWays(p.count, limit), now)
			if (!ok || round >= maxSplitRounds) && p.count <= searchCap {
				done = append(done, p) // too big only for balance: fine as is
				continue
			}
			if !ok || round >= maxSplitRounds {
				warnings = append(warnings, fmt.Sprintf("search %q matches %d repositories and cannot be split further; GitHub returns at most %d per search, so only the first %d are included",
					p.r.qualify(q), p.count, searchCap, searchCap))
				done = append(done, p)
				continue
			}
			probe = append(probe, subs...)
		}
		pending = nil
		if len(probe) == 0 {
			break
		}
		counts, err := count(ctx, probe)
		if err != nil {
			return nil, nil, err
		}
		for i, r := range probe {
			if counts[i] > 0 {
				pending = append(pending, part{r: r, count: counts[i]})
			}
		}
	}
	// Deterministic order: by start of the range (open start first).
	sort.Slice(done, func(i, j int) bool { return done[i].r.lo.Before(done[j].r.lo) })
	return done, warnings, nil
}

// partLimit is the most results a part may have: what fills one document
// of searchesPerDocument pages per round, in whole pages, within GitHub's
// cap.
func partLimit(total int) int {
	per := (total + searchesPerDocument - 1) / searchesPerDocument
	per = (per + 99) / 100 * 100
	return min(max(per, 100), searchCap)
}

// splitWays is how many equal-duration ranges a range of count results is
// cut into to fit limit: twice what a uniform distribution needs, because
// creation dates are not uniform, and at most 16 per round.
func splitWays(count, limit int) int {
	n := 2 * ((count + limit - 1) / limit)
	return min(max(n, 2), 16)
}
