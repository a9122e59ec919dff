package local_test

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/local"
	"github.com/campaignbot/campaignbot/runner/workspace/workspacetest"
)

// BenchmarkExecute100Repos runs a one-line sed step on 100 repositories
// with 2 tasks in flight (one per core) and reports tasks/s, the figure
// make bench-execute holds to >= 20 on 2 cores.
func BenchmarkExecute100Repos(b *testing.B) {
	for _, m := range []mode{{"bwrap", []local.Option{local.RequireSandbox()}}, {"plain", []local.Option{local.DisableSandbox()}}} {
		b.Run(m.name, func(b *testing.B) {
			f := githubfake.NewT(b)
			ctx := context.Background()
			org, err := f.CreateOrg(ctx, githubfake.OrgSpec{Name: workspacetest.Org, Repos: 100,
				Files: map[string]string{"go.mod": "module x\n\ngo 1.22\n", "README.md": "# x\n"}})
			if err != nil {
				b.Fatal(err)
			}
			fg := &workspacetest.Forge{Fake: f, InstallationID: org.InstallationID}
			e := local.New(fg, m.opts...)
			if err := e.Err(); err != nil {
				b.Skipf("%v", err)
			}
			reqs := make([]runner.Request, len(org.Repos))
			for i, name := range org.Repos {
				sha, err := f.BranchSHA(ctx, org.Name, name, "main")
				if err != nil {
					b.Fatal(err)
				}
				reqs[i] = runner.Request{TaskID: name, InstallationID: org.InstallationID, Repository: org.Name + "/" + name,
					CloneURL: f.CloneURL(org.Name, name), BaseSHA: sha,
					Steps: []runner.Step{{Name: "bump", Run: "sed -i 's/^go 1.22$/go 1.26/' go.mod", Timeout: time.Minute}},
					Allow: []string{"go.mod"}}
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			var tasks, stepNs atomic.Int64
			for n := 0; n < b.N; n++ {
				next := make(chan runner.Request)
				var wg sync.WaitGroup
				for w := 0; w < 2; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for req := range next {
							res, err := e.Execute(ctx, req)
							if err != nil || len(res.Changed) != 1 {
								b.Errorf("%s: %+v, %v", req.Repository, res, err)
							}
							tasks.Add(1)
							if err == nil {
								stepNs.Add(int64(res.Logs[0].Duration))
							}
						}
					}()
				}
				for _, r := range reqs {
					next <- r
				}
				close(next)
				wg.Wait()
			}
			b.ReportMetric(float64(tasks.Load())/time.Since(start).Seconds(), "tasks/s")
			b.ReportMetric(float64(stepNs.Load())/1e6/float64(tasks.Load()), "step-ms/task")
			// CPU per task (this process, the fake's git processes and the
			// executor's) does not depend on what else the machine runs:
			// 2 cores can do at most 2s / cpu-ms-per-task tasks per second.
			b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(tasks.Load()), "cpu-ms/task")
		})
	}
}

// cpuTime is the user+system time of this process and its waited-for
// children.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}
