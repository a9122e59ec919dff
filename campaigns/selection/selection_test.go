package selection_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/selection"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/store/storetest"
)

// world is an organization with one repository for every way of being
// selected or left out.
type world struct {
	f    *githubfake.Fake
	inst int64
	gql  selection.GraphQL
}

func newWorld(t *testing.T, opts ...githubfake.Option) *world {
	t.Helper()
	ctx := context.Background()
	f := githubfake.NewT(t, opts...)
	gomod := map[string]string{"go.mod": "module x\n"}
	org, err := f.CreateOrg(ctx, githubfake.OrgSpec{Name: "octo-org", Repos: 5, Files: gomod, Topics: []string{"go"}})
	must(t, err)
	for _, rs := range []githubfake.RepoSpec{
		{Name: "legacy-api", Files: gomod, Language: "Go", Topics: []string{"go"}},
		{Name: "no-gomod", Language: "Go", Topics: []string{"go"}},
		{Name: "no-topic", Files: gomod, Language: "Go"},
		{Name: "py-tool", Files: gomod, Language: "Python", Topics: []string{"go"}},
	} {
		_, err := f.CreateRepo(ctx, "octo-org", rs)
		must(t, err)
	}
	// Exists, but the App is not installed there.
	_, err = f.CreateRepo(ctx, "other-org", githubfake.RepoSpec{Name: "secret", Files: gomod, Language: "Go"})
	must(t, err)
	setRepo(t, f, "octo-org/repo-0002", func(r *githubfake.Repo) { r.Archived = true })
	setRepo(t, f, "octo-org/repo-0003", func(r *githubfake.Repo) { r.Fork = true })
	return &world{f: f, inst: org.InstallationID, gql: v4Client(t, f, org.InstallationID)}
}

var targets = spec.Targets{
	Query:        "org:octo-org language:Go",
	Repositories: []string{"octo-org/py-tool", "octo-org/repo-0001", "octo-org/does-not-exist", "other-org/secret", "Octo-Org/PY-TOOL"},
	Exclude:      []string{"octo-org/legacy-*"},
	Require:      spec.Require{Files: []string{"go.mod"}, Topics: []string{"go"}},
}

func names(rs []selection.Repository) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.FullName
	}
	return out
}

func TestResolve(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		targets  spec.Targets
		want     []string
		excluded []selection.Exclusion
		requests int
	}{
		{
			name:    "query, list, exclusions and requirements",
			targets: targets,
			want:    []string{"octo-org/py-tool", "octo-org/repo-0001", "octo-org/repo-0004", "octo-org/repo-0005"},
			excluded: []selection.Exclusion{
				{"octo-org/does-not-exist", selection.ReasonInaccessible},
				{"octo-org/legacy-api", "excluded by pattern octo-org/legacy-*"},
				{"octo-org/no-gomod", "missing file go.mod"},
				{"octo-org/no-topic", "missing topic go"},
				{"octo-org/repo-0002", selection.ReasonArchived},
				{"octo-org/repo-0003", selection.ReasonFork},
				{"other-org/secret", selection.ReasonInaccessible},
			},
			requests: 2, // one search page, one lookup batch
		},
		{
			name:    "fork:true keeps forks",
			targets: spec.Targets{Query: "org:octo-org language:Go fork:true", Exclude: []string{"OCTO-ORG/LEGACY-*"}},
			want:    []string{"octo-org/no-gomod", "octo-org/no-topic", "octo-org/repo-0001", "octo-org/repo-0003", "octo-org/repo-0004", "octo-org/repo-0005"},
			excluded: []selection.Exclusion{
				{"octo-org/legacy-api", "excluded by pattern OCTO-ORG/LEGACY-*"},
				{"octo-org/repo-0002", selection.ReasonArchived},
			},
			requests: 1,
		},
		{
			name:    "explicit list only, several files",
			targets: spec.Targets{Repositories: []string{"octo-org/repo-0001", "octo-org/no-gomod", "nobody/nothing"}, Require: spec.Require{Files: []string{"go.mod", "README.md"}}},
			want:    nil,
			excluded: []selection.Exclusion{
				{"nobody/nothing", selection.ReasonInaccessible},
				{"octo-org/no-gomod", "missing file go.mod"},
				{"octo-org/repo-0001", "missing file README.md"},
			},
			requests: 1,
		},
	}
	svc := selection.New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.f.ResetStats()
			res, err := svc.Resolve(ctx, w.gql, w.inst, tt.targets)
			must(t, err)
			if got := names(res.Repositories); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("repositories = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(res.Excluded, tt.excluded) {
				t.Errorf("excluded =\n%q\nwant\n%q", res.Excluded, tt.excluded)
			}
			if res.Requests != tt.requests || graphQLRequests(w.f) != tt.requests {
				t.Errorf("requests = %d (fake saw %d), want %d", res.Requests, graphQLRequests(w.f), tt.requests)
			}
			if len(res.Warnings) != 0 || res.Cached {
				t.Errorf("warnings %q cached %v", res.Warnings, res.Cached)
			}
		})
	}
}

func TestRepositoryFields(t *testing.T) {
	w := newWorld(t)
	res, err := selection.New(nil).Resolve(context.Background(), w.gql, w.inst, spec.Targets{Repositories: []string{"octo-org/repo-0001"}})
	must(t, err)
	if len(res.Repositories) != 1 {
		t.Fatalf("got %+v", res)
	}
	r := res.Repositories[0]
	fr := w.f.Repo("octo-org", "repo-0001")
	if r.ID != fr.ID || r.NodeID == "" || r.FullName != "octo-org/repo-0001" || r.DefaultBranch != "main" ||
		!regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(r.HeadOID) || r.Language != "Go" ||
		!reflect.DeepEqual(r.Topics, []string{"go"}) || !r.Private {
		t.Errorf("repository = %+v", r)
	}
}

func TestBatching(t *testing.T) {
	w := newWorld(t)
	var list []string
	for i := 1; i <= 120; i++ {
		list = append(list, fmt.Sprintf("octo-org/repo-%04d", i)) // 115 of them do not exist
	}
	w.f.ResetStats()
	res, err := selection.New(nil, selection.WithBatchSize(50)).Resolve(context.Background(), w.gql, w.inst,
		spec.Targets{Repositories: list})
	must(t, err)
	if got := graphQLRequests(w.f); got != 3 || res.Requests != 3 {
		t.Errorf("requests = %d, want 3 batches of <= 50", got)
	}
	if len(res.Repositories)+len(res.Excluded) != 120 || len(res.Repositories) != 3 {
		t.Errorf("%d repositories, %d excluded", len(res.Repositories), len(res.Excluded))
	}
}

func TestCache(t *testing.T) {
	w := newWorld(t)
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	svc := selection.New(st, selection.WithTTL(10*time.Minute), selection.WithClock(func() time.Time { return now }))

	first, err := svc.Resolve(ctx, w.gql, w.inst, targets)
	must(t, err)
	if first.Cached || first.Requests == 0 {
		t.Fatalf("first resolve cached=%v requests=%d", first.Cached, first.Requests)
	}

	// Same targets written differently: same cache row, no GitHub request.
	w.f.ResetStats()
	now = now.Add(9 * time.Minute)
	same := targets
	same.Query = "  org:octo-org   language:Go "
	same.Repositories = []string{"other-org/secret", "OCTO-ORG/py-tool", "octo-org/does-not-exist", "octo-org/repo-0001"}
	second, err := svc.Resolve(ctx, w.gql, w.inst, same)
	must(t, err)
	if got := graphQLRequests(w.f); got != 0 || !second.Cached || second.Requests != 0 {
		t.Fatalf("cache hit made %d requests (cached=%v)", got, second.Cached)
	}
	if !reflect.DeepEqual(second.Repositories, first.Repositories) || !reflect.DeepEqual(second.Excluded, first.Excluded) ||
		!second.ResolvedAt.Equal(first.ResolvedAt) {
		t.Errorf("cached result differs:\n%+v\n%+v", second, first)
	}

	// Another installation does not share the row.
	if _, ok, _ := st.GetSelection(ctx, "x", now); ok {
		t.Fatal("unexpected row")
	}
	third, err := svc.Resolve(ctx, w.gql, w.inst+1000, targets)
	must(t, err)
	if third.Cached {
		t.Error("other installation hit the cache")
	}

	// Refresh asks GitHub again; expiry does too.
	w.f.ResetStats()
	refreshed, err := svc.Resolve(ctx, w.gql, w.inst, targets, selection.Refresh())
	must(t, err)
	if refreshed.Cached || graphQLRequests(w.f) == 0 {
		t.Error("refresh was served from the cache")
	}
	now = now.Add(11 * time.Minute)
	w.f.ResetStats()
	expired, err := svc.Resolve(ctx, w.gql, w.inst, targets)
	must(t, err)
	if expired.Cached || graphQLRequests(w.f) == 0 {
		t.Error("expired entry was served")
	}
}

// injectGraphQL is a proxy in front of the fake's GraphQL endpoint that
// answers documents containing match with response, the way GitHub answers
// what the fake cannot be made to produce: githubfake accepts every search
// query (unknown qualifiers are ignored) and its middleware option wraps
// REST only, hence the proxy.
func injectGraphQL(t *testing.T, f *githubfake.Fake, match, response string) string {
	target, err := url.Parse(f.V4URL())
	must(t, err)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(match)) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, response)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + target.Path
}

func TestRejectedQuery(t *testing.T) {
	const bad = "org:octo-org size:huge"
	const msg = "Invalid search query: size:huge"
	w := newWorld(t)
	w.gql = v4ClientAt(t, w.f, injectGraphQL(t, w.f, `"`+bad+`"`,
		`{"data":null,"errors":[{"type":"INVALID","path":["s0"],"locations":[{"line":1,"column":2}],"message":"`+msg+`"}]}`), w.inst)
	st, _ := storetest.NewStore(t)
	res, err := selection.New(st).Resolve(context.Background(), w.gql, w.inst, spec.Targets{Query: bad})
	var qe *selection.QueryError
	if !errors.As(err, &qe) || res != nil {
		t.Fatalf("err = %v (%T), res = %v; want *QueryError", err, err, res)
	}
	if qe.Query != bad || qe.Message != msg || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), msg) {
		t.Errorf("QueryError = %+v (%v)", qe, err)
	}
	var n int
	must(t, st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM selection_cache`).Scan(&n))
	if n != 0 {
		t.Errorf("%d rows cached after a rejected query", n)
	}
}

func TestDeterministic(t *testing.T) {
	w := newWorld(t)
	svc := selection.New(nil)
	var prev *selection.Result
	for i := 0; i < 3; i++ {
		res, err := svc.Resolve(context.Background(), w.gql, w.inst, targets)
		must(t, err)
		res.ResolvedAt, res.Requests = time.Time{}, 0
		if prev != nil && !reflect.DeepEqual(res, prev) {
			t.Fatalf("run %d differs:\n%+v\n%+v", i, res, prev)
		}
		prev = res
	}
}

// A rate limit is not the spec's fault: an ordinary error, not a
// QueryError, and not an exclusion of every listed repository.
func TestRateLimitedIsAnError(t *testing.T) {
	const limited = `{"data":null,"errors":[{"type":"RATE_LIMITED","message":"API rate limit already exceeded for installation ID 1."}]}`
	for _, tt := range []struct{ name, match string }{
		{"search", "search(query:"},
		{"lookup", "repository(owner:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.gql = v4ClientAt(t, w.f, injectGraphQL(t, w.f, tt.match, limited), w.inst)
			res, err := selection.New(nil).Resolve(context.Background(), w.gql, w.inst, targets)
			var qe *selection.QueryError
			if err == nil || errors.As(err, &qe) || res != nil || !strings.Contains(err.Error(), "rate limit") {
				t.Fatalf("err = %v (%T), res = %v", err, err, res)
			}
		})
	}
}
