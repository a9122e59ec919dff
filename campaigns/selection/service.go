package selection

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// Defaults.
const (
	DefaultTTL = 10 * time.Minute
	// DefaultBatchSize repositories per lookup document: each costs 20
	// topic nodes plus one object per required file, so 50 stays well
	// inside GitHub's node and complexity limits.
	DefaultBatchSize = 50
	maxBatchSize     = 100
)

// Service resolves targets. It is safe for concurrent use.
type Service struct {
	cache Cache
	ttl   time.Duration
	now   func() time.Time
	batch int
}

// Option configures a Service.
type Option func(*Service)

// WithTTL sets how long a resolved selection is reused (default 10m; 0 or
// less disables caching).
func WithTTL(d time.Duration) Option { return func(s *Service) { s.ttl = d } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option {
	return func(s *Service) {
		if now != nil {
			s.now = now
		}
	}
}

// WithBatchSize sets how many explicitly listed repositories are fetched
// per GraphQL document (1 to 100, default 50).
func WithBatchSize(n int) Option {
	return func(s *Service) { s.batch = min(max(n, 1), maxBatchSize) }
}

// New returns a Service caching in cache (nil: no caching).
func New(cache Cache, opts ...Option) *Service {
	s := &Service{cache: cache, ttl: DefaultTTL, now: time.Now, batch: DefaultBatchSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ResolveOption configures one Resolve call.
type ResolveOption func(*resolveConfig)

type resolveConfig struct {
	refresh bool
}

// Refresh ignores a cached result and asks GitHub again (the new result
// replaces the cached one).
func Refresh() ResolveOption { return func(c *resolveConfig) { c.refresh = true } }

// Resolve returns the repositories t selects for the installation, and
// every candidate it leaves out with the reason. A query GitHub rejects
// is a *QueryError and nothing is cached.
func (s *Service) Resolve(ctx context.Context, gql GraphQL, installationID int64, t spec.Targets, opts ...ResolveOption) (*Result, error) {
	var cfg resolveConfig
	for _, o := range opts {
		o(&cfg)
	}
	caching := s.cache != nil && s.ttl > 0
	key := cacheKey(installationID, t)
	if caching && !cfg.refresh {
		res, ok, err := s.cached(ctx, key)
		if err != nil || ok {
			return res, err
		}
	}
	if gql == nil {
		return nil, fmt.Errorf("resolve targets: no GitHub GraphQL client")
	}
	counted := &countingGraphQL{gql: gql}
	now := s.now()
	res, err := s.resolve(ctx, counted, t, now)
	if err != nil {
		return nil, err
	}
	res.Requests = int(counted.n.Load())
	if caching {
		b, err := json.Marshal(res)
		if err != nil {
			return nil, fmt.Errorf("encode selection for cache: %w", err)
		}
		if err := s.cache.PutSelection(ctx, key, b, now.Add(s.ttl), now); err != nil {
			return nil, fmt.Errorf("cache selection: %w", err)
		}
	}
	return res, nil
}

func (s *Service) cached(ctx context.Context, key string) (*Result, bool, error) {
	b, ok, err := s.cache.GetSelection(ctx, key, s.now())
	if err != nil {
		return nil, false, fmt.Errorf("read cached selection: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		// A row we cannot read is a miss: resolving again overwrites it.
		return nil, false, nil
	}
	res.Cached = true
	return &res, true, nil
}

// resolve asks GitHub: search, then the explicit list (minus what search
// already returned), then filters.
func (s *Service) resolve(ctx context.Context, gql GraphQL, t spec.Targets, now time.Time) (*Result, error) {
	res := &Result{ResolvedAt: now.UTC(), Repositories: []Repository{}, Excluded: []Exclusion{}, Warnings: []string{}}
	files := normalise(t.Require.Files, false)
	seen := map[string]bool{}
	var candidates []node
	add := func(ns []node) {
		for _, n := range ns {
			k := strings.ToLower(n.NameWithOwner)
			if !seen[k] {
				seen[k] = true
				candidates = append(candidates, n)
			}
		}
	}
	if strings.TrimSpace(t.Query) != "" {
		sr := &searcher{gql: gql, query: strings.TrimSpace(t.Query), files: files, now: now}
		ns, warnings, err := sr.run(ctx)
		if err != nil {
			return nil, err
		}
		add(ns)
		res.Warnings = append(res.Warnings, warnings...)
	}
	var explicit []string
	listed := map[string]bool{}
	for _, full := range t.Repositories {
		k := strings.ToLower(strings.TrimSpace(full))
		if k == "" || listed[k] {
			continue
		}
		listed[k] = true
		if !seen[k] {
			explicit = append(explicit, strings.TrimSpace(full))
		}
	}
	if len(explicit) > 0 {
		found, missing, err := lookup(ctx, gql, explicit, files, s.batch)
		if err != nil {
			return nil, err
		}
		add(found)
		for _, m := range missing {
			if !seen[strings.ToLower(m)] {
				res.Excluded = append(res.Excluded, Exclusion{FullName: m, Reason: ReasonInaccessible})
			}
		}
	}
	forks := forksWanted(t.Query)
	for _, n := range candidates {
		if reason := exclusionReason(n, t, forks); reason != "" {
			res.Excluded = append(res.Excluded, Exclusion{FullName: n.NameWithOwner, Reason: reason})
			continue
		}
		res.Repositories = append(res.Repositories, n.repository())
	}
	sort.Slice(res.Repositories, func(i, j int) bool {
		return lessName(res.Repositories[i].FullName, res.Repositories[j].FullName)
	})
	sort.Slice(res.Excluded, func(i, j int) bool { return lessName(res.Excluded[i].FullName, res.Excluded[j].FullName) })
	return res, nil
}

// lessName orders names case-insensitively (as GitHub treats them), with
// a byte-wise tie-break so the order is total.
func lessName(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if la != lb {
		return la < lb
	}
	return a < b
}
