// Package reconciler_test follows campaign pull requests through the real
// server, worker, queue and database on githubfake: people merge, close,
// review and push while webhooks are lost, duplicated and reordered, and
// the changesets must end equal to GitHub's truth.
package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/publisher"
	"github.com/campaignbot/campaignbot/campaigns/reconciler"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

const specTemplate = `version: 1
name: touch
targets:
  query: "org:octo-org"
steps:
  - name: touch
    run: echo hi > HELLO
pullRequest:
  title: add HELLO
rollout:
  maxOpenPRs: 1000
  prsPerHour: 5000
drift:
  baseChanged: %s
  humanEdits: %s
`

// executor stands in for the steps: it writes HELLO on the base it is
// given and counts executions per repository. The patch hash names the
// base, so a re-execution on a new base rewrites the branch.
type executor struct {
	fake  *githubfake.Fake
	mu    sync.Mutex
	count map[string]int
	bases map[string][]string
}

func (e *executor) Execute(ctx context.Context, req runner.Request) (*runner.Result, error) {
	e.mu.Lock()
	e.count[req.Repository]++
	e.bases[req.Repository] = append(e.bases[req.Repository], req.BaseSHA)
	e.mu.Unlock()
	owner, name, _ := strings.Cut(req.Repository, "/")
	if got, err := e.fake.FileContent(ctx, owner, name, req.BaseSHA, "HELLO"); err == nil && got == "hi\n" {
		return &runner.Result{NoChanges: true, BaseSHA: req.BaseSHA}, nil // the change is there already
	}
	return &runner.Result{Changed: []runner.FileChange{{Path: "HELLO", Mode: runner.ModeFile, Content: []byte("hi\n")}},
		PatchHash: "h-" + req.Repository + "-" + req.BaseSHA[:8], BaseSHA: req.BaseSHA}, nil
}

func (e *executor) executions(repo string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count[repo]
}

// world is a stack with one campaign run over n repositories whose pull
// requests are all open.
type world struct {
	*stack.Stack
	ctx    context.Context
	exec   *executor
	run    store.Run
	repos  []string
	rec    *reconciler.Reconciler // the test's own, for sweeps by hand
	pub    *publisher.Publisher
	queue  *queue.Client
	inst   int64
	person string
	opts   options
}

type options struct {
	repos int
	// waves sets each repository's rollout wave (index: repository).
	waves []int
	// direct opens the pull requests as the App without running the
	// pipeline (the tracking tests need open pull requests, not how they
	// were made; the publisher has its own tests).
	direct      bool
	baseChanged string
	humanEdits  string
	debounce    time.Duration
}

func newWorld(t *testing.T, o options) *world {
	if o.baseChanged == "" {
		o.baseChanged = spec.BaseChangedRebase
	}
	if o.humanEdits == "" {
		o.humanEdits = spec.HumanEditsStop
	}
	if o.debounce == 0 {
		o.debounce = 300 * time.Millisecond
	}
	s := stack.New(t, func(c *config.Config) {
		c.Runner.Lease = 10 * time.Second
		c.Worker.SweepInterval = time.Hour // tests sweep by hand
		c.Reconcile.SweepInterval = time.Hour
		c.Reconcile.DriftDebounce = o.debounce
		c.Campaign.DashboardEvery = time.Second
		c.Publisher.ContentPerMinute, c.Publisher.ContentPerHour = 100000, 100000
	})
	s.StopWorker()
	s.Fake.SetLimits(githubfake.NoLimits())
	w := &world{Stack: s, ctx: context.Background(), exec: &executor{fake: s.Fake, count: map[string]int{}, bases: map[string][]string{}}, person: "alice", opts: o}
	org, err := s.Fake.CreateOrg(w.ctx, githubfake.OrgSpec{Name: "octo-org", Repos: o.repos, Members: []string{"alice", "bob"},
		Files: map[string]string{"README.md": "# repo\n"}})
	if err != nil {
		t.Fatal(err)
	}
	w.inst = org.InstallationID
	if _, err := s.Fake.CreateRepo(w.ctx, "octo-org", githubfake.RepoSpec{Name: "platform"}); err != nil {
		t.Fatal(err)
	}
	controlSHA, err := s.Fake.BranchSHA(w.ctx, "octo-org", "platform", "main")
	if err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(specTemplate, o.baseChanged, o.humanEdits)
	res, err := s.Store.ApplySpecSync(w.ctx, store.SpecSync{ControlRepo: "octo-org/platform", CommitSHA: controlSHA,
		Valid: []store.SyncedSpec{{Name: "touch", Path: "campaigns/touch.yaml", YAML: yaml, ContentHash: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, diags := spec.Parse("touch.yaml", []byte(yaml))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var targets stack.StaticTargets
	for i := range o.repos {
		name := fmt.Sprintf("repo-%04d", i+1)
		head, err := s.Fake.BranchSHA(w.ctx, "octo-org", name, "main")
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, orchestrator.Target{FullName: "octo-org/" + name, ID: int64(i + 1), DefaultBranch: "main", HeadSHA: head})
		w.repos = append(w.repos, "octo-org/"+name)
	}
	rdb := s.Redis()
	w.queue = s.Queue(rdb)
	cc := s.ClientCreator()
	dashboards := s.Dashboards(cc, w.queue)
	v := res.NewVersions[0]
	w.pub = publisher.New(rdb, publisher.Config{ContentPerMinute: 100000, ContentPerHour: 100000})
	w.rec = reconciler.New(s.Store, tasks.Changesets{ClientCreator: cc, GraphQLURL: s.Config.GitHub.V4APIURL}, w.queue, w.pub, dashboards, nil,
		reconciler.Config{Debounce: o.debounce, RetryWait: 10 * time.Millisecond, Retries: 8})
	if o.direct {
		w.openDirect(cc, v, targets, controlSHA)
		s.StartWorker(app.WithExecutor(w.exec), app.WithResultStore(stack.NewMemResults()))
		w.Settle()
		return w
	}
	w.run, _, err = orchestrator.NewStarter(s.Store, targets, w.queue, dashboards).Start(w.ctx, orchestrator.StartInput{
		CampaignID: v.CampaignID, Version: v, Spec: parsed, InstallationID: org.InstallationID, ControlSHA: controlSHA})
	if err != nil {
		t.Fatal(err)
	}
	s.StartWorker(app.WithExecutor(w.exec), app.WithResultStore(stack.NewMemResults()))
	w.waitFor("every pull request to open", func() bool { return w.states()[store.TaskPublished] == o.repos })
	w.Settle()
	return w
}

// openDirect opens one pull request per target as the App and records
// the run's tasks as published with them.
func (w *world) openDirect(cc githubapp.ClientCreator, v store.SpecVersion, targets stack.StaticTargets, controlSHA string) {
	t := w.T
	gh, err := cc.NewInstallationClient(w.inst)
	if err != nil {
		t.Fatal(err)
	}
	var news []store.NewTask
	for _, tg := range targets {
		news = append(news, store.NewTask{Repository: tg.FullName, RepositoryID: tg.ID, DedupeKey: uuid.NewString(), BaseBranch: "main", BaseSHA: tg.HeadSHA})
	}
	run, created, _, err := w.Store.CreateRun(w.ctx, store.Run{CampaignID: v.CampaignID, SpecVersionID: v.ID, State: store.RunRunning,
		InstallationID: w.inst, ControlSHA: controlSHA}, news)
	if err != nil {
		t.Fatal(err)
	}
	w.run = run
	for i, task := range created {
		if i < len(w.opts.waves) {
			if _, err := w.Store.Pool().Exec(w.ctx, `UPDATE repo_tasks SET wave = $2 WHERE id = $1`, task.ID, w.opts.waves[i]); err != nil {
				t.Fatal(err)
			}
		}
		owner, name := split(task.Repository)
		branch := fmt.Sprintf("campaign/%d/1/%s", v.CampaignID, name)
		head, err := w.Fake.PushCommit(w.ctx, owner, name, branch, "alice", "add HELLO", map[string]string{"HELLO": "hi\n"})
		if err != nil {
			t.Fatal(err)
		}
		num, err := w.Fake.OpenPullRequest(w.ctx, owner, name, githubfake.PullRequestSpec{Title: "add HELLO", Head: branch, Base: "main"})
		if err != nil {
			t.Fatal(err)
		}
		pr, _, err := gh.PullRequests.Get(w.ctx, owner, name, num)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Store.Pool().Exec(w.ctx, `UPDATE repo_tasks SET state = 'published', branch = $2, pr_number = $3, pr_url = $4, pr_node_id = $5,
head_sha = $6, last_pushed_sha = $6 WHERE id = $1`, task.ID, branch, num, pr.GetHTMLURL(), pr.GetNodeID(), head); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond for up to three minutes (a loaded machine): drift checks wait for the
// debounce and the queue's scheduler, which looks every few seconds.
func (w *world) waitFor(what string, cond func() bool) {
	w.T.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			for _, cs := range w.changesets() {
				w.T.Logf("%s: %s base=%.8s base_head=%.8s handled=%.8s head=%.8s pushed=%.8s executions=%d", cs.Task.Repository, cs.Task.State,
					cs.Task.BaseSHA, cs.BaseHeadSHA, cs.DriftHandledSHA, cs.Task.HeadSHA, cs.LastPushedSHA, w.exec.executions(cs.Task.Repository))
			}
			opt, _ := redis.ParseURL(w.Config.RedisURL)
			insp := asynq.NewInspectorFromRedisClient(redis.NewClient(opt))
			for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){insp.ListRetryTasks, insp.ListScheduledTasks, insp.ListPendingTasks, insp.ListActiveTasks} {
				tis, _ := list(queue.Tasks)
				for i, ti := range tis {
					if i < 5 {
						w.T.Logf("queue: %s %s state=%v retried=%d next=%v err=%s", ti.Type, ti.ID, ti.State, ti.Retried, time.Until(ti.NextProcessAt), ti.LastErr)
					}
				}
			}
			w.T.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// burst runs people's actions and delivers their webhooks back to back
// afterwards, so the system sees them as quick as GitHub would send them
// however slow the machine makes the actions themselves.
func (w *world) burst(actions func()) {
	w.T.Helper()
	before := len(w.Fake.Deliveries())
	w.Fake.SetWebhook("", stack.WebhookSecret) // recorded, not sent
	actions()
	all := w.Fake.Deliveries()
	w.Fake.SetWebhook(w.Server.URL+"/api/github/hook", stack.WebhookSecret)
	for _, d := range all[before:] {
		if _, err := w.Fake.Redeliver(w.ctx, d.ID); err != nil {
			w.T.Fatal(err)
		}
	}
}

func (w *world) changesets() []store.Changeset {
	w.T.Helper()
	sets, err := w.Store.RunChangesets(w.ctx, w.run.ID)
	if err != nil {
		w.T.Fatal(err)
	}
	return sets
}

func (w *world) states() map[string]int { return w.TaskStates(w.run.ID) }

func (w *world) changeset(repo string) store.Changeset {
	w.T.Helper()
	for _, cs := range w.changesets() {
		if cs.Task.Repository == repo {
			return cs
		}
	}
	w.T.Fatalf("no changeset for %s", repo)
	return store.Changeset{}
}

func split(repo string) (string, string) {
	owner, name, _ := strings.Cut(repo, "/")
	return owner, name
}

// truth is the task state GitHub's pull request implies.
func (w *world) truth(cs store.Changeset) string {
	w.T.Helper()
	owner, name := split(cs.Task.Repository)
	pr, err := w.Fake.PullRequest(owner, name, cs.Task.PRNumber)
	if err != nil {
		w.T.Fatal(err)
	}
	switch {
	case pr.Merged:
		return "merged"
	case pr.State == "closed":
		return "closed"
	}
	return store.TaskPublished
}

func (w *world) sweep() reconciler.SweepResult {
	w.T.Helper()
	res, err := w.rec.Sweep(w.ctx)
	if err != nil {
		w.T.Fatalf("sweep: %v (%+v)", err, res)
	}
	return res
}
