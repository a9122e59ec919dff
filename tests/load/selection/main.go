// Command selection measures target selection against githubfake: 5,000
// matching repositories resolved with a query and require.files, then
// resolved again from the PostgreSQL cache. It prints GitHub requests by
// kind (the fake's own counters), wall time, and the second resolve's
// requests, and exits non-zero when a target is missed.
//
//	go run ./tests/load/selection [-repos 5000] [-max-requests 60] [-max-time 5s]
//
// PostgreSQL: DATABASE_URL, or a campaignbot_bench_selection database on
// 127.0.0.1 created and migrated on first use.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/selection"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/store"
)

const defaultDatabaseURL = "postgres://127.0.0.1:5432/campaignbot_bench_selection?sslmode=disable"

func main() {
	repos := flag.Int("repos", 5000, "matching repositories to seed")
	maxRequests := flag.Int("max-requests", 60, "fail when the first resolve makes more GitHub requests")
	maxTime := flag.Duration("max-time", 5*time.Second, "fail when the first resolve takes longer")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *repos, *maxRequests, *maxTime); err != nil {
		fmt.Fprintln(os.Stderr, "selection load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, repos, maxRequests int, maxTime time.Duration) error {
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	dir, err := os.MkdirTemp("", "selection-load-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	f, err := githubfake.New(ctx, githubfake.WithDir(dir), githubfake.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return fmt.Errorf("start githubfake: %w", err)
	}
	defer f.Close()

	seedStart := time.Now()
	org, err := seed(ctx, f, repos)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded %d repositories in %s\n", repos, time.Since(seedStart).Round(time.Millisecond))

	gql, err := client(f, org.InstallationID)
	if err != nil {
		return err
	}
	targets := spec.Targets{Query: "org:" + org.Name + " language:Go", Require: spec.Require{Files: []string{"go.mod"}}}
	svc := selection.New(st)

	// Refresh: the installation id repeats across runs, so a previous
	// run's cache row must not answer the measured resolve.
	f.ResetStats()
	start := time.Now()
	res, err := svc.Resolve(ctx, gql, org.InstallationID, targets, selection.Refresh())
	elapsed := time.Since(start)
	if err != nil {
		return fmt.Errorf("first resolve: %w", err)
	}
	first := f.Stats()
	fmt.Fprintf(out, "first resolve:  %d repositories, %d excluded, %d warnings, %s wall time\n",
		len(res.Repositories), len(res.Excluded), len(res.Warnings), elapsed.Round(time.Millisecond))
	for _, w := range res.Warnings {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
	printStats(out, first)

	f.ResetStats()
	start = time.Now()
	again, err := svc.Resolve(ctx, gql, org.InstallationID, targets)
	if err != nil {
		return fmt.Errorf("second resolve: %w", err)
	}
	second := f.Stats()
	fmt.Fprintf(out, "second resolve: %d repositories, cached=%v, %d GitHub requests (%d GraphQL), %s wall time\n",
		len(again.Repositories), again.Cached, total(second), second.Categories["graphql"], time.Since(start).Round(time.Millisecond))

	var errs []error
	if len(res.Repositories) != repos {
		errs = append(errs, fmt.Errorf("found %d of %d matching repositories", len(res.Repositories), repos))
	}
	if n := total(first); n > maxRequests {
		errs = append(errs, fmt.Errorf("first resolve made %d GitHub requests, budget %d", n, maxRequests))
	}
	if elapsed > maxTime {
		errs = append(errs, fmt.Errorf("first resolve took %s, budget %s", elapsed.Round(time.Millisecond), maxTime))
	}
	if n := total(second); n != 0 || !again.Cached {
		errs = append(errs, fmt.Errorf("second resolve made %d GitHub requests (cached=%v), want 0", n, again.Cached))
	}
	return errors.Join(errs...)
}

// seed creates the organization and spreads creation dates over ten years
// (the fake creates every repository "now"), so a created: split has
// something to split.
func seed(ctx context.Context, f *githubfake.Fake, repos int) (*githubfake.Org, error) {
	org, err := f.CreateOrg(ctx, githubfake.OrgSpec{Name: "bench-org", Repos: repos, Language: "Go",
		Files: map[string]string{"go.mod": "module example.com/bench\n\ngo 1.26\n"}})
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	base := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 10 * 365 * 24 * time.Hour / time.Duration(max(repos, 1))
	for i, name := range org.Repos {
		created := base.Add(time.Duration(i) * step)
		if err := f.SetRepo(org.Name, name, func(r *githubfake.Repo) { r.CreatedAt = created }); err != nil {
			return nil, fmt.Errorf("seed: set created_at of %s: %w", name, err)
		}
	}
	return org, nil
}

func client(f *githubfake.Fake, installationID int64) (selection.GraphQL, error) {
	cfg := githubapp.Config{V3APIURL: f.V3URL(), V4APIURL: f.V4URL()}
	cfg.App.IntegrationID = f.AppID()
	cfg.App.PrivateKey = string(f.PrivateKeyPEM())
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg)
	if err != nil {
		return nil, fmt.Errorf("client creator: %w", err)
	}
	v4, err := cc.NewInstallationV4Client(installationID)
	if err != nil {
		return nil, fmt.Errorf("installation GraphQL client: %w", err)
	}
	return v4, nil
}

func openStore(ctx context.Context) (*store.Store, error) {
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		dbURL = defaultDatabaseURL
	}
	if _, err := store.EnsureDatabase(ctx, dbURL); err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, dbURL); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// total is every API request the fake served: its routes include
// "POST /graphql" (git is not API traffic and is not used here).
func total(s githubfake.Stats) int {
	n := 0
	for _, c := range s.Routes {
		n += c
	}
	return n
}

func printStats(out io.Writer, s githubfake.Stats) {
	fmt.Fprintf(out, "  GitHub requests: %d\n", total(s))
	keys := make([]string, 0, len(s.Routes))
	for k := range s.Routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "    REST %-40s %d\n", k, s.Routes[k])
	}
	ops := make([]string, 0, len(s.GraphQL))
	for k := range s.GraphQL {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	for _, k := range ops {
		fmt.Fprintf(out, "    GraphQL %-37s %d\n", k, s.GraphQL[k])
	}
	fmt.Fprintf(out, "    GraphQL points %d\n", s.Categories["graphql-points"])
}
