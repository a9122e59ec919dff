// Command reconcile benchmarks the changeset sweep (make
// bench-reconcile): 5,000 open campaign pull requests on githubfake, with
// GitHub's limits on, are refreshed by one reconciler sweep; it prints the
// GraphQL requests the fake counted (the target: at most one per 100 pull
// requests), the points spent and the time taken, then repeats the sweep
// after people merged and closed a share of them to show the states land.
//
//	go run ./tests/load/reconcile [-prs 5000]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/publisher"
	"github.com/campaignbot/campaignbot/campaigns/reconciler"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/load/benchenv"
)

const specYAML = `version: 1
name: bench-reconcile
targets:
  query: "org:bench"
steps:
  - name: touch
    run: echo hi > HELLO
pullRequest:
  title: add HELLO
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-reconcile:", err)
		os.Exit(1)
	}
}

func run() error {
	prs := flag.Int("prs", 5000, "open pull requests to refresh")
	dbURL := flag.String("database", benchenv.EnvOr("BENCH_DATABASE_URL", "postgres://127.0.0.1:5432/campaignbot_bench_reconcile?sslmode=disable"), "database URL (recreated)")
	redisURL := flag.String("redis", benchenv.EnvOr("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"), "Redis URL (flushed)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	fake, err := githubfake.New(ctx, githubfake.WithLimits(githubfake.DefaultLimits()))
	if err != nil {
		return err
	}
	defer fake.Close()
	start := time.Now()
	// Seeded before the App is installed: GitHub would send no webhooks
	// for them, and the fake renders none (seeding 5,000 stays fast).
	if _, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "bench", Repos: 1, Members: []string{"alice"}, NoInstall: true}); err != nil {
		return err
	}
	if err := seedGrid(ctx, fake, *prs); err != nil {
		return err
	}
	instID, err := fake.InstallApp(ctx, "bench", githubfake.DefaultPermissions(), nil)
	if err != nil {
		return err
	}
	cfg := githubapp.Config{V3APIURL: fake.V3URL(), V4APIURL: fake.V4URL()}
	cfg.App.IntegrationID = fake.AppID()
	cfg.App.PrivateKey = string(fake.PrivateKeyPEM())
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg)
	if err != nil {
		return err
	}
	rest, err := cc.NewInstallationClient(instID)
	if err != nil {
		return err
	}
	nodes, err := listPullRequests(ctx, publisher.NewClients(rest, fake.V4URL()))
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d open pull requests in %s\n", len(nodes), time.Since(start).Round(time.Millisecond))

	st, err := benchenv.FreshStore(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := seedChangesets(ctx, st, fake, instID, nodes); err != nil {
		return err
	}
	rdb, err := benchenv.FreshRedis(ctx, *redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	q := queue.NewClient(rdb, 3)
	defer q.Close()
	rec := reconciler.New(st, tasks.Changesets{ClientCreator: cc, GraphQLURL: fake.V4URL()}, q, publisher.New(rdb, publisher.Config{}), nil, nil, reconciler.Config{})

	sweep := func(label string) error {
		fake.ResetStats()
		t0 := time.Now()
		res, err := rec.Sweep(ctx)
		if err != nil {
			return err
		}
		s := fake.Stats()
		fmt.Printf("%s: %d pull requests checked, %d finished, in %s: %d GraphQL requests (fake's count; the reconciler counted %d), %d points, %d requests in all\n",
			label, res.Checked, res.Changed, time.Since(t0).Round(time.Millisecond), s.Routes["POST /graphql"], res.Requests,
			s.Categories["graphql-points"], s.Requests())
		if limit := (*prs + 99) / 100; s.Routes["POST /graphql"] > limit {
			return fmt.Errorf("%d GraphQL requests for %d pull requests: more than %d", s.Routes["POST /graphql"], *prs, limit)
		}
		return nil
	}
	if err := sweep("sweep 1 (nothing changed)"); err != nil {
		return err
	}
	// People merge every 10th and close every 10th+1; no webhook reaches us.
	merged, closed := 0, 0
	for i, n := range nodes {
		switch i % 10 {
		case 0:
			if _, err := fake.MergePullRequest(ctx, "bench", "repo-0001", n.number, "alice", "merge"); err == nil {
				merged++
			}
		case 1:
			if err := fake.ClosePullRequest(ctx, "bench", "repo-0001", n.number, "alice"); err == nil {
				closed++
			}
		}
	}
	if err := sweep(fmt.Sprintf("sweep 2 (%d merged, %d closed by people, no webhooks)", merged, closed)); err != nil {
		return err
	}
	counts := map[string]int{}
	sets, err := st.OpenChangesets(ctx)
	if err != nil {
		return err
	}
	counts["published"] = len(sets)
	if counts["published"] != len(nodes)-merged-closed {
		return fmt.Errorf("%d changesets still open after the sweep, want %d", counts["published"], len(nodes)-merged-closed)
	}
	fmt.Printf("open changesets after sweep 2: %d (= %d - %d - %d)\n", counts["published"], len(nodes), merged, closed)
	return nil
}

type pr struct {
	number int
	nodeID string
	head   string
}

// seedGrid opens n pull requests in one repository from a grid of head
// and base branches (a pull request per pair), so few git writes make
// many pull requests.
func seedGrid(ctx context.Context, fake *githubfake.Fake, n int) error {
	side := 1
	for side*side < n {
		side++
	}
	var heads, bases []string
	for i := range side {
		h := fmt.Sprintf("campaign/1/1/h%03d", i)
		if _, err := fake.PushCommit(ctx, "bench", "repo-0001", h, "alice", "change", map[string]string{"HELLO": strconv.Itoa(i) + "\n"}); err != nil {
			return err
		}
		b := fmt.Sprintf("base-%03d", i)
		if _, err := fake.PushCommit(ctx, "bench", "repo-0001", b, "alice", "base", map[string]string{"BASE": strconv.Itoa(i) + "\n"}); err != nil {
			return err
		}
		heads, bases = append(heads, h), append(bases, b)
	}
	type job struct{ head, base string }
	jobs := make(chan job)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if _, err := fake.OpenPullRequest(ctx, "bench", "repo-0001", githubfake.PullRequestSpec{Title: "add HELLO", Head: j.head, Base: j.base}); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	count := 0
	for _, h := range heads {
		for _, b := range bases {
			if count == n {
				break
			}
			jobs <- job{h, b}
			count++
		}
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// listPullRequests reads every pull request's number, node id and head
// through the fake's GraphQL API (100 a page).
func listPullRequests(ctx context.Context, gh publisher.Clients) ([]pr, error) {
	var out []pr
	after := ""
	for {
		var resp struct {
			Data struct {
				Repository struct {
					PullRequests struct {
						Nodes []struct {
							ID         string `json:"id"`
							Number     int    `json:"number"`
							HeadRefOid string `json:"headRefOid"`
						} `json:"nodes"`
						PageInfo struct {
							HasNextPage bool   `json:"hasNextPage"`
							EndCursor   string `json:"endCursor"`
						} `json:"pageInfo"`
					} `json:"pullRequests"`
				} `json:"repository"`
			} `json:"data"`
		}
		vars := map[string]any{}
		if after != "" {
			vars["after"] = after
		}
		ans, err := gh.GraphQL(ctx, "ListPulls", `query ListPulls($after: String) { repository(owner: "bench", name: "repo-0001") {
  pullRequests(first: 100, after: $after, states: OPEN) { nodes { id number headRefOid } pageInfo { hasNextPage endCursor } } } }`, vars)
		if err != nil {
			return nil, err
		}
		if len(ans.Errors) > 0 {
			return nil, fmt.Errorf("list pull requests: %s", ans.Errors[0].Message)
		}
		if err := json.Unmarshal(ans.Data, &resp.Data); err != nil {
			return nil, err
		}
		for _, n := range resp.Data.Repository.PullRequests.Nodes {
			out = append(out, pr{number: n.Number, nodeID: n.ID, head: n.HeadRefOid})
		}
		if !resp.Data.Repository.PullRequests.PageInfo.HasNextPage {
			return out, nil
		}
		after = resp.Data.Repository.PullRequests.PageInfo.EndCursor
	}
}

// seedChangesets writes a run with one published task per pull request.
func seedChangesets(ctx context.Context, st *store.Store, fake *githubfake.Fake, inst int64, prs []pr) error {
	sha, err := fake.BranchSHA(ctx, "bench", "repo-0001", "main")
	if err != nil {
		return err
	}
	res, err := st.ApplySpecSync(ctx, store.SpecSync{ControlRepo: "bench/control", CommitSHA: sha,
		Valid: []store.SyncedSpec{{Name: "bench-reconcile", Path: "campaigns/bench.yaml", YAML: specYAML, ContentHash: "bench"}}})
	if err != nil {
		return err
	}
	v := res.NewVersions[0]
	tasks := make([]store.NewTask, len(prs))
	for i := range prs {
		// One repository in the fake; the tasks name distinct ones, as a
		// campaign's would (the sweep reads pull requests by node id).
		tasks[i] = store.NewTask{Repository: fmt.Sprintf("bench/target-%05d", i), DedupeKey: uuid.NewString(), BaseBranch: "main", BaseSHA: sha}
	}
	_, created, _, err := st.CreateRun(ctx, store.Run{CampaignID: v.CampaignID, SpecVersionID: v.ID, State: store.RunRunning, InstallationID: inst, ControlSHA: sha}, tasks)
	if err != nil {
		return err
	}
	for i, t := range created {
		p := prs[i]
		if _, err := st.Pool().Exec(ctx, `UPDATE repo_tasks SET state = 'published', pr_number = $2, pr_node_id = $3, head_sha = $4, last_pushed_sha = $4,
branch = $5 WHERE id = $1`, t.ID, p.number, p.nodeID, p.head, "campaign/1/1/x"); err != nil {
			return err
		}
	}
	return nil
}
