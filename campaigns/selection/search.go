package selection

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/shurcooL/githubv4"
	"golang.org/x/sync/errgroup"
)

// searchesPerDocument is how many search aliases share one document: pages
// of different created: parts are independent, so they travel together.
// Five pages of 100 repositories with 20 topics each stay far below
// GitHub's 500,000-node limit and its 10-second query timeout.
const searchesPerDocument = 5

// maxInFlight is how many search documents one resolve sends at once,
// far below GitHub's secondary limit on concurrent requests.
const maxInFlight = 3

// countsPerDocument is how many count-only searches share one document.
const countsPerDocument = 20

// maxPagesPerSearch is GitHub's 1,000-result cap in pages of 100.
const maxPagesPerSearch = searchCap / 100

// searcher runs the targets query for one resolve.
type searcher struct {
	gql   GraphQL
	query string   // as written in the spec
	files []string // require.files
	now   time.Time
}

// cursorPart is a search part being paged.
type cursorPart struct {
	query string
	after string
	pages int
	more  bool
}

// run returns every repository the query matches and warnings.
func (s *searcher) run(ctx context.Context) ([]node, []string, error) {
	root := &cursorPart{query: s.query, more: true}
	first, err := s.page(ctx, []*cursorPart{root})
	if err != nil {
		return nil, nil, err
	}
	total := first[0].count
	nodes := first[0].nodes
	var warnings []string
	parts := []*cursorPart{root}
	if total == searchCap {
		// GitHub reports the true count above the cap, so exactly 1,000 is
		// almost always real; a server that clamps the count would
		// otherwise lose repositories without a word.
		warnings = append(warnings, fmt.Sprintf("search %q matches exactly %d repositories, GitHub's per-search cap; if it matches more, the rest are missing: narrow the query",
			s.query, searchCap))
	}
	if total > searchCap {
		if !splittable(s.query) {
			warnings = append(warnings, fmt.Sprintf("search %q matches %d repositories; GitHub returns at most %d per search and the query has its own created: qualifier, so it is not split: only the first %d are included",
				s.query, total, searchCap, searchCap))
		} else {
			planned, w, err := planParts(ctx, s.query, total, s.counts, s.now)
			if err != nil {
				return nil, nil, err
			}
			warnings = append(warnings, w...)
			// The root page is not a page of any part: start over per part.
			nodes, parts = nil, nil
			for _, p := range planned {
				parts = append(parts, &cursorPart{query: p.r.qualify(s.query), more: true})
			}
		}
	}
	for {
		var active []*cursorPart
		for _, p := range parts {
			if p.more && p.pages < maxPagesPerSearch {
				active = append(active, p)
			}
		}
		if len(active) == 0 {
			return nodes, warnings, nil
		}
		var batches [][]*cursorPart
		for len(active) > 0 {
			batch := active[:min(len(active), searchesPerDocument)]
			active = active[len(batch):]
			batches = append(batches, batch)
		}
		pages, err := s.pages(ctx, batches)
		if err != nil {
			return nil, nil, err
		}
		nodes = append(nodes, pages...)
	}
}

// pages fetches one page of every part in batches, a few documents in
// flight at a time: GitHub answers a search page in about a second, and
// the pages of different parts do not depend on each other. Nodes come
// back in batch order, so the result does not depend on timing.
func (s *searcher) pages(ctx context.Context, batches [][]*cursorPart) ([]node, error) {
	results := make([][]searchPage, len(batches))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxInFlight)
	for i, b := range batches {
		g.Go(func() error {
			pg, err := s.page(gctx, b)
			results[i] = pg
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var nodes []node
	for _, pgs := range results {
		for _, pg := range pgs {
			nodes = append(nodes, pg.nodes...)
		}
	}
	return nodes, nil
}

// searchPage is one decoded page of one search alias.
type searchPage struct {
	count int
	nodes []node
}

// page fetches the next page of each part in one document and advances
// their cursors.
func (s *searcher) page(ctx context.Context, parts []*cursorPart) ([]searchPage, error) {
	nt := nodeType(len(s.files))
	st := reflect.StructOf([]reflect.StructField{
		{Name: "RepositoryCount", Type: reflect.TypeOf(0)},
		{Name: "PageInfo", Type: pageInfoType},
		{Name: "Nodes", Type: reflect.SliceOf(nt)},
	})
	fields := make([]reflect.StructField, len(parts))
	vars := map[string]any{}
	fileVariables(s.files, vars)
	for i, p := range parts {
		fields[i] = reflect.StructField{Name: fmt.Sprintf("S%d", i), Type: st,
			Tag: reflect.StructTag(fmt.Sprintf(`graphql:"s%d: search(query: $q%d, type: REPOSITORY, first: 100, after: $a%d)"`, i, i, i))}
		vars[fmt.Sprintf("q%d", i)] = githubv4.String(p.query)
		var after *githubv4.String
		if p.after != "" {
			after = githubv4.NewString(githubv4.String(p.after))
		}
		vars[fmt.Sprintf("a%d", i)] = after
	}
	doc := reflect.New(reflect.StructOf(fields))
	if err := s.gql.Query(ctx, doc.Interface(), vars); err != nil {
		return nil, s.searchError(err, parts)
	}
	out := make([]searchPage, len(parts))
	for i, p := range parts {
		v := doc.Elem().Field(i)
		out[i].count = int(v.Field(0).Int())
		info := v.Field(1)
		ns := v.Field(2)
		for j := 0; j < ns.Len(); j++ {
			if n, ok := readNode(ns.Index(j), s.files); ok {
				out[i].nodes = append(out[i].nodes, n)
			}
		}
		p.pages++
		cursor := info.Field(0).String()
		// No cursor or no progress means GitHub has nothing more to give;
		// stopping there keeps a misbehaving server from looping us.
		p.more = info.Field(1).Bool() && cursor != "" && cursor != p.after
		p.after = cursor
	}
	return out, nil
}

// counts returns repositoryCount for each query, countsPerDocument per
// request. first: 1 because GitHub wants a page size on every connection.
func (s *searcher) counts(ctx context.Context, ranges []dateRange) ([]int, error) {
	queries := make([]string, len(ranges))
	for i, r := range ranges {
		queries[i] = r.qualify(s.query)
	}
	out := make([]int, 0, len(queries))
	ct := reflect.TypeOf(struct{ RepositoryCount int }{})
	for len(queries) > 0 {
		batch := queries[:min(len(queries), countsPerDocument)]
		queries = queries[len(batch):]
		fields := make([]reflect.StructField, len(batch))
		vars := map[string]any{}
		parts := make([]*cursorPart, len(batch))
		for i, q := range batch {
			fields[i] = reflect.StructField{Name: fmt.Sprintf("C%d", i), Type: ct,
				Tag: reflect.StructTag(fmt.Sprintf(`graphql:"c%d: search(query: $q%d, type: REPOSITORY, first: 1)"`, i, i))}
			vars[fmt.Sprintf("q%d", i)] = githubv4.String(q)
			parts[i] = &cursorPart{query: q}
		}
		doc := reflect.New(reflect.StructOf(fields))
		if err := s.gql.Query(ctx, doc.Interface(), vars); err != nil {
			return nil, s.searchError(err, parts)
		}
		for i := range batch {
			out = append(out, int(doc.Elem().Field(i).Field(0).Int()))
		}
	}
	return out, nil
}

// searchError turns a failed search document into an error: GitHub
// rejecting the query is a *QueryError for the spec author; anything else
// (network, rate limit) is an ordinary error.
func (s *searcher) searchError(err error, parts []*cursorPart) error {
	msgs, ok := graphQLMessages(err)
	if !ok {
		return fmt.Errorf("search repositories for %q: %w", s.query, err)
	}
	for _, m := range msgs {
		if rateLimited(m) {
			return fmt.Errorf("search repositories for %q: %w", s.query, err)
		}
	}
	qe := &QueryError{Query: s.query, Message: strings.Join(msgs, "; ")}
	if len(parts) == 1 {
		qe.Sent = parts[0].query
	}
	return qe
}
