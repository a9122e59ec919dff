// Command publish benchmarks campaigns/publisher: it publishes 1,000
// patch_ready changes (one per repository of one installation) on
// githubfake with GitHub's limits on and a virtual clock, rescheduling
// every throttled publish at the time the publisher names (as the task
// queue does), and prints GitHub requests per published pull request by
// kind, the secondary-limit errors hit, and the virtual time taken against
// the theoretical minimum under the configured limits.
//
//	go run ./tests/load/publish [-repos 1000] [-workers 8] [-redis URL]
package main

import (
	"container/heap"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/publisher"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/tests/load/benchenv"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/redis/go-redis/v9"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "publish bench:", err)
		os.Exit(1)
	}
}

type options struct {
	repos, workers int
	redisURL       string
}

func run() error {
	var o options
	flag.IntVar(&o.repos, "repos", 1000, "changes to publish (one repository each)")
	flag.IntVar(&o.workers, "workers", 8, "concurrent publishes")
	flag.StringVar(&o.redisURL, "redis", benchenv.EnvOr("CAMPAIGNBOT_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL")
	flag.Parse()
	ctx := context.Background()

	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	clock := githubfake.NewVirtualClock(start)
	limits := githubfake.DefaultLimits()
	fake, err := githubfake.New(ctx, githubfake.WithClock(clock), githubfake.WithLimits(limits))
	if err != nil {
		return fmt.Errorf("start githubfake: %w", err)
	}
	defer fake.Close()
	org, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "acme", Repos: o.repos,
		Files: map[string]string{"go.mod": "module x\n\ngo 1.25\n"}, Members: []string{"alice"}})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	gh, err := clients(fake, org.InstallationID)
	if err != nil {
		return err
	}
	ropt, err := redis.ParseURL(o.redisURL)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", ropt.Addr, err)
	}
	prefix := "{campaignbot-publisher-bench-" + randHex() + "}:"
	defer cleanup(ctx, rdb, prefix)
	cfg := publisher.Config{ContentPerMinute: limits.ContentPerMinute, ContentPerHour: limits.ContentPerHour,
		KeyPrefix: prefix, Clock: clock}
	pub := publisher.New(rdb, cfg)

	sp := &spec.Spec{Version: 1, Name: "bump-go", PullRequest: spec.PullRequest{
		Title: "Bump Go in {{ .Repository.Name }}", Labels: []string{"campaign"}, Reviewers: []string{"alice"}},
		Rollout: spec.Rollout{MaxOpenPRs: 10000, PRsPerHour: 5000}}
	var tasks []*task
	for _, name := range org.Repos {
		base, err := fake.BranchSHA(ctx, "acme", name, "main")
		if err != nil {
			return err
		}
		content := []byte("module x\n\ngo 1.26\n")
		sum := sha256.Sum256(append([]byte("go.mod\x00"), content...))
		tasks = append(tasks, &task{in: publisher.Input{InstallationID: org.InstallationID, CampaignID: 1, CampaignName: sp.Name,
			SpecVersion: 1, Spec: sp, Repository: "acme/" + name, DefaultBranch: "main",
			Result: &runner.Result{BaseSHA: base, PatchHash: hex.EncodeToString(sum[:]),
				Changed: []runner.FileChange{{Path: "go.mod", Mode: runner.ModeFile, OldMode: runner.ModeFile, Content: content}}}}})
	}
	fake.ResetStats()
	wall := time.Now()
	// Every publish outcome asks for a dashboard update, as the worker
	// does; the coalescing decides how many check-run updates happen.
	updates := &dashboardUpdates{ids: map[string]bool{}}
	dash := status.NewDashboards(nil, nil, updates, nil, dashboardEvery)
	dash.SetClock(clock.Now)
	res, err := schedule(ctx, pub, gh, clock, tasks, o.workers, dash)
	if err != nil {
		return err
	}
	report(o, fake.Stats(), res, start, clock.Now(), time.Since(wall), limits, sp)
	updates.report(clock.Now().Sub(start))
	return nil
}

// task is one patch_ready change and when it is due.
type task struct {
	in    publisher.Input
	due   time.Time
	index int
}

type queue []*task

func (q queue) Len() int            { return len(q) }
func (q queue) Less(i, j int) bool  { return q[i].due.Before(q[j].due) }
func (q queue) Swap(i, j int)       { q[i], q[j] = q[j], q[i]; q[i].index = i; q[j].index = j }
func (q *queue) Push(x any)         { t := x.(*task); t.index = len(*q); *q = append(*q, t) }
func (q *queue) Pop() any           { old := *q; t := old[len(old)-1]; *q = old[:len(old)-1]; return t }
func (q queue) peek() (*task, bool) { return q[0], len(q) > 0 }

type results struct {
	published     int
	throttled     int
	githubLimited int
	units         int
	reasons       map[string]int
}

// schedule runs due tasks on workers, puts throttled ones back at the time
// they name, and moves the virtual clock to the next due task when nothing
// is due: the task queue's behaviour, in virtual time.
func schedule(ctx context.Context, pub *publisher.Publisher, gh publisher.Clients, clock *githubfake.VirtualClock, tasks []*task, workers int, dash *status.Dashboards) (results, error) {
	res := results{reasons: map[string]int{}}
	q := &queue{}
	for _, t := range tasks {
		t.due = clock.Now()
		heap.Push(q, t)
	}
	for q.Len() > 0 {
		if next, _ := q.peek(); next.due.After(clock.Now()) {
			clock.Set(next.due)
		}
		var batch []*task
		for q.Len() > 0 && len(batch) < workers {
			if next, _ := q.peek(); next.due.After(clock.Now()) {
				break
			}
			batch = append(batch, heap.Pop(q).(*task))
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		var failed error
		for _, t := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := pub.Publish(ctx, gh, t.in)
				if derr := dash.RequestUpdate(ctx, 1); derr != nil {
					err = errors.Join(err, derr)
				}
				mu.Lock()
				defer mu.Unlock()
				var th *publisher.Throttled
				switch {
				case errors.As(err, &th):
					res.throttled++
					res.reasons[th.Reason]++
					if strings.Contains(th.Reason, "GitHub") {
						res.githubLimited++
					}
					t.due = th.Until
					heap.Push(q, t)
				case err != nil:
					failed = errors.Join(failed, fmt.Errorf("%s: %w", t.in.Repository, err))
				default:
					res.published++
					res.units += out.ContentUnits
				}
			}()
		}
		wg.Wait()
		if failed != nil {
			return res, failed
		}
	}
	return res, nil
}

// minimum is the earliest time the last of n units can be sent under
// sliding windows of perMinute and perHour, all units ready at 0: unit i
// waits for unit i-perMinute's minute and unit i-perHour's hour.
func minimum(n, perMinute, perHour int) time.Duration {
	t := make([]time.Duration, n)
	for i := range t {
		if i >= perMinute {
			t[i] = max(t[i], t[i-perMinute]+time.Minute)
		}
		if i >= perHour {
			t[i] = max(t[i], t[i-perHour]+time.Hour)
		}
	}
	if n == 0 {
		return 0
	}
	return t[n-1]
}

func report(o options, st githubfake.Stats, res results, start, end time.Time, wall time.Duration, l githubfake.Limits, sp *spec.Spec) {
	n := float64(res.published)
	fmt.Printf("published %d pull requests in %d repositories of one installation (%d workers, wall %s)\n",
		res.published, o.repos, o.workers, wall.Round(time.Millisecond))
	fmt.Printf("spec: %d label(s), %d reviewer(s); labels do not exist yet in the repositories\n\n", len(sp.PullRequest.Labels), len(sp.PullRequest.Reviewers))
	fmt.Println("GitHub requests per published PR by kind:")
	kinds := map[string]int{}
	for op, c := range st.GraphQL {
		kinds["graphql "+op] = c
	}
	for r, c := range st.Routes {
		if r != "POST /graphql" && !strings.HasPrefix(r, "POST /app/") {
			kinds[r] = c
		}
	}
	var names []string
	total := 0
	for k, c := range kinds {
		names = append(names, k)
		total += c
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Printf("  %-62s %6.2f\n", k, float64(kinds[k])/n)
	}
	core := float64(st.GraphQL["Lookup"]+st.GraphQL["LookupPR"]+st.GraphQL["PublishCreate"]+st.GraphQL["PublishUpdate"]) / n
	fmt.Printf("  %-62s %6.2f\n", "total", float64(total)/n)
	fmt.Printf("  %-62s %6.2f (target <= 2)\n", "branch + commit + PR (Lookup + PublishCreate)", core)
	fmt.Printf("  %-62s %6.2f (target <= 1)\n", "content-creating requests besides labels/reviewers", float64(st.GraphQL["PublishCreate"]+st.GraphQL["PublishUpdate"])/n)
	fmt.Printf("  %-62s %6.2f\n", "content-creating units (GitHub counts each mutation)", float64(st.Categories["content-creating"])/n)
	fmt.Printf("\nthrottled publishes rescheduled: %d (Redis only, no GitHub request)\n", res.throttled)
	var reasons []string
	for r := range res.reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return res.reasons[reasons[i]] > res.reasons[reasons[j]] })
	for _, r := range reasons {
		fmt.Printf("  %6d  %s\n", res.reasons[r], r)
	}
	fmt.Printf("secondary-limit errors hit: %d (target 0)\n", res.githubLimited)
	unitsPerPR := res.units / max(res.published, 1)
	minT := minimum(res.units, l.ContentPerMinute, l.ContentPerHour)
	took := end.Sub(start)
	fmt.Printf("virtual time to publish all: %s; theoretical minimum for %d units (%d per PR) under %d/min and %d/h: %s (%+.1f%%, target within 10%%)\n",
		took, res.units, unitsPerPR, l.ContentPerMinute, l.ContentPerHour, minT, 100*(took.Seconds()-minT.Seconds())/minT.Seconds())
}

// dashboardEvery is the worker's default CAMPAIGN_DASHBOARD_EVERY.
const dashboardEvery = 5 * time.Second

// dashboardUpdates records the coalesced dashboard tasks: each distinct
// task id is one check-run update at most (none when nothing changed).
type dashboardUpdates struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (d *dashboardUpdates) EnqueueDashboard(_ context.Context, _ int64, taskID string, _ time.Duration) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.ids[taskID]; ok {
		return false, nil
	}
	d.ids[taskID] = true
	return true, nil
}

func (d *dashboardUpdates) report(took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.ids)
	per := time.Duration(0)
	if n > 0 {
		per = took / time.Duration(n)
	}
	fmt.Printf("check-run updates for the run: at most %d over %s of virtual time (one per %s on average; at most one per %s window by construction, target at most one per 5s)\n",
		n, took, per.Round(time.Second), dashboardEvery)
}

func clients(fake *githubfake.Fake, inst int64) (publisher.Clients, error) {
	cfg := githubapp.Config{V3APIURL: fake.V3URL(), V4APIURL: fake.V4URL()}
	cfg.App.IntegrationID = fake.AppID()
	cfg.App.PrivateKey = string(fake.PrivateKeyPEM())
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg)
	if err != nil {
		return nil, fmt.Errorf("client creator: %w", err)
	}
	rest, err := cc.NewInstallationClient(inst)
	if err != nil {
		return nil, fmt.Errorf("installation client: %w", err)
	}
	return publisher.NewClients(rest, fake.V4URL()), nil
}

func cleanup(ctx context.Context, rdb *redis.Client, prefix string) {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

func randHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
