// Command execute benchmarks execution (make bench-execute): a campaign
// over N repositories on githubfake with a one-line sed step, run by a
// real `campaignbot worker` process with the local executor. It prints
// tasks/s, p50/p99 task latency, GitHub requests per task by kind and the
// worker's peak RSS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/load/benchenv"
)

const specYAML = `version: 1
name: bench-sed
targets:
  query: "org:bench"
steps:
  - name: bump
    run: sed -i 's/^go 1.22$/go 1.26/' go.mod
pullRequest:
  title: bump go
rollout:
  approval: none
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-execute:", err)
		os.Exit(1)
	}
}

func run() error {
	repos := flag.Int("repos", 1000, "target repositories")
	bin := flag.String("bin", "bin/campaignbot", "campaignbot binary")
	concurrency := flag.Int("concurrency", 16, "worker concurrency")
	dbURL := flag.String("database", benchenv.EnvOr("BENCH_DATABASE_URL", "postgres://127.0.0.1:5432/campaignbot_bench_execute?sslmode=disable"), "database URL (recreated)")
	redisURL := flag.String("redis", benchenv.EnvOr("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"), "Redis URL (flushed)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	fake, err := githubfake.New(ctx, githubfake.WithLimits(githubfake.NoLimits()))
	if err != nil {
		return err
	}
	defer fake.Close()
	start := time.Now()
	org, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "bench", Repos: *repos, Files: map[string]string{"go.mod": "module bench\n\ngo 1.22\n", "README.md": "bench\n"}})
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d repositories in %s\n", *repos, time.Since(start).Round(time.Millisecond))

	st, err := benchenv.FreshStore(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	rdb, err := benchenv.FreshRedis(ctx, *redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()

	// The campaign, its version and the run's tasks, as a merge would make them.
	if _, err := fake.CreateRepo(ctx, "bench", githubfake.RepoSpec{Name: "control"}); err != nil {
		return err
	}
	controlSHA, err := fake.BranchSHA(ctx, "bench", "control", "main")
	if err != nil {
		return err
	}
	res, err := st.ApplySpecSync(ctx, store.SpecSync{ControlRepo: "bench/control", CommitSHA: controlSHA,
		Valid: []store.SyncedSpec{{Name: "bench-sed", Path: "campaigns/bench.yaml", YAML: specYAML, ContentHash: "bench"}}})
	if err != nil {
		return err
	}
	parsed, diags := spec.Parse("bench.yaml", []byte(specYAML))
	if diags.HasErrors() {
		return diags.Err()
	}
	var targets staticTargets
	for _, name := range org.Repos {
		sha, err := fake.BranchSHA(ctx, "bench", name, "main")
		if err != nil {
			return err
		}
		targets = append(targets, orchestrator.Target{FullName: "bench/" + name, DefaultBranch: "main", HeadSHA: sha})
	}
	q := queue.NewClient(rdb, 3)
	defer q.Close()
	fake.ResetStats()

	dir, err := os.MkdirTemp("", "bench-execute-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	keyPath := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(keyPath, fake.PrivateKeyPEM(), 0o600); err != nil {
		return err
	}
	worker := exec.CommandContext(ctx, *bin, "worker", "--log-level=warn")
	worker.Env = append(os.Environ(),
		"DATABASE_URL="+*dbURL, "REDIS_URL="+*redisURL,
		"GITHUB_V3_API_URL="+fake.V3URL(), "GITHUB_V4_API_URL="+fake.V4URL(),
		"GITHUB_APP_INTEGRATION_ID="+strconv.FormatInt(fake.AppID(), 10), "GITHUB_APP_PRIVATE_KEY="+keyPath,
		"RUNNER_GIT_URL="+fake.GitURL(), "RUNNER_ARTIFACT_DIR="+filepath.Join(dir, "artifacts"),
		"CAMPAIGN_WORKER_CONCURRENCY="+strconv.Itoa(*concurrency), "CAMPAIGN_DASHBOARD_EVERY=1h",
		// Execution alone is measured: publishing waits (make bench-publish measures it).
		"PUBLISHER_KILL_SWITCH=true")
	worker.Stdout, worker.Stderr = os.Stderr, os.Stderr
	if err := worker.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer func() { _ = worker.Process.Signal(os.Interrupt); _ = worker.Wait() }()

	started := time.Now()
	run, tasks, err := orchestrator.NewStarter(st, targets, q, nil).Start(ctx, orchestrator.StartInput{
		CampaignID: res.NewVersions[0].CampaignID, Version: res.NewVersions[0], Spec: parsed, InstallationID: org.InstallationID,
		ControlSHA: controlSHA})
	if err != nil {
		return err
	}
	peak := 0
	for {
		done, failed := 0, 0
		if rows, err := st.RunTasks(ctx, run.ID); err == nil {
			for _, t := range rows {
				switch t.State {
				case store.TaskPatchReady, store.TaskNoChanges:
					done++
				case store.TaskFailed:
					failed++
				}
			}
		}
		if kb := peakRSSKB(worker.Process.Pid); kb > peak {
			peak = kb
		}
		if done+failed == len(tasks) {
			if failed > 0 {
				return fmt.Errorf("%d of %d tasks failed", failed, len(tasks))
			}
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("timed out with %d of %d done", done, len(tasks))
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(started)
	rows, err := st.RunTasks(ctx, run.ID)
	if err != nil {
		return err
	}
	var lat []time.Duration
	for _, t := range rows {
		lat = append(lat, t.UpdatedAt.Sub(run.CreatedAt))
	}
	slices.Sort(lat)
	stats := fake.Stats()
	n := float64(len(rows))
	fmt.Printf("tasks: %d executed (patch_ready) in %s with concurrency %d\n", len(rows), elapsed.Round(time.Millisecond), *concurrency)
	fmt.Printf("throughput: %.1f tasks/s (target >= 20)\n", n/elapsed.Seconds())
	fmt.Printf("task completion after run start: p50 %s  p99 %s\n", lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond))
	fmt.Println("GitHub requests per task by kind:")
	for _, k := range sortedKeys(stats.Categories) {
		fmt.Printf("  %-18s %.2f\n", k, float64(stats.Categories[k])/n)
	}
	fmt.Println("  REST routes:")
	for _, k := range sortedKeys(stats.Routes) {
		fmt.Printf("    %-60s %.2f\n", k, float64(stats.Routes[k])/n)
	}
	fmt.Printf("worker peak RSS: %.1f MB (target < 300)\n", float64(peak)/1024)
	return nil
}

type staticTargets []orchestrator.Target

func (s staticTargets) Resolve(context.Context, int64, spec.Targets) ([]orchestrator.Target, error) {
	return s, nil
}

func peakRSSKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	return 0
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
