package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/fixtures/demo"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/fixtures/specs"
	"github.com/campaignbot/campaignbot/store"
)

// story plays the life of one campaign and keeps what it predicted and
// what it saw.
type story struct {
	s      *Sandbox
	n      *narrator
	name   string
	path   string
	needs  bool // the spec needs approval
	sample bool // the sample spec on the demo world: outcomes known per repository

	mismatches []string
	prNumber   int
	runID      int64
	tasks      []store.RepoTask

	statsAtMerge   githubfake.Stats
	statsPublished githubfake.Stats
	published      int
	acted          people
}

// people is what the simulated people did to the campaign's pull requests.
type people struct {
	merged, closed []store.RepoTask
	edited, moved  []store.RepoTask
}

func newStory(s *Sandbox) *story {
	return &story{s: s, n: s.n}
}

// expect records a mismatch between the prediction and what happened.
func (st *story) expect(ok bool, format string, args ...any) bool {
	if !ok {
		msg := fmt.Sprintf(format, args...)
		st.mismatches = append(st.mismatches, msg)
		st.n.Say("✗ %s", msg)
	}
	return ok
}

func (st *story) play(ctx context.Context) error {
	s := st.s
	sp, diags := spec.Parse(s.opts.SpecName, s.opts.Spec)
	if sp == nil || sp.Name == "" {
		st.n.Plain("\n%s does not parse as a campaign spec:", s.opts.SpecName)
		for _, d := range diags.Strings() {
			st.n.Say("%s", d)
		}
		return fmt.Errorf("%w: the spec does not parse", ErrMismatch)
	}
	st.name = sp.Name
	st.path = "campaigns/" + sp.Name + ".yaml"
	st.needs = sp.WithDefaults().Rollout.Approval != spec.ApprovalNone
	st.sample = bytes.Equal(s.opts.Spec, specs.Sandbox)

	if err := st.propose(ctx); err != nil {
		return err
	}
	if st.needs {
		if err := st.approve(ctx); err != nil {
			return err
		}
	}
	if err := st.merge(ctx); err != nil {
		return err
	}
	if err := st.execute(ctx); err != nil {
		return err
	}
	if err := st.react(ctx); err != nil {
		return err
	}
	return st.dashboard(ctx)
}

func (st *story) propose(ctx context.Context) error {
	s := st.s
	branch := "add-" + st.name
	st.n.Step("%s opens a pull request on %s adding %s", demo.Author, s.world.Control(), st.path)
	sha, err := s.fake.PushCommit(ctx, demo.Org, demo.ControlRepo, branch, demo.Author, "Add campaign "+st.name,
		map[string]string{st.path: string(s.opts.Spec)})
	if err != nil {
		return fmt.Errorf("push the spec: %w", err)
	}
	st.prNumber, err = s.fake.OpenPullRequest(ctx, demo.Org, demo.ControlRepo, githubfake.PullRequestSpec{
		Title: "Add campaign " + st.name, Head: branch, Base: "main", User: s.fake.CreateUser(demo.Author),
		Body: "Proposing " + st.name + ". The plan check shows what it would do."})
	if err != nil {
		return fmt.Errorf("open the pull request: %w", err)
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	var plan *githubfake.CheckRunState
	for _, c := range s.fake.CheckRuns(demo.Org, demo.ControlRepo) {
		if c.HeadSHA == sha && strings.HasPrefix(c.Name, "campaign plan: ") {
			plan = &c
		}
	}
	st.n.Step("the plan check on pull request #%d", st.prNumber)
	if !st.expect(plan != nil, "no plan check run on the pull request's head %s", sha[:7]) {
		return fmt.Errorf("%w: no plan", ErrMismatch)
	}
	st.n.Say("%s: %s — %s", plan.Name, plan.Conclusion, plan.Title)
	st.n.Quote(plan.Summary, 30)
	for _, a := range plan.Annotations {
		st.n.Say("%s:%d: %s", a.Path, a.StartLine, a.Message)
	}
	if !st.expect(plan.Conclusion == "success", "the plan concluded %s, predicted success", plan.Conclusion) {
		return fmt.Errorf("%w: the spec's plan failed", ErrMismatch)
	}
	if st.sample {
		want := fmt.Sprintf("%d repositories match", len(s.world.Targeted()))
		st.expect(plan.Title == want, "plan title %q, predicted %q", plan.Title, want)
	}
	return nil
}

// say comments as user on the spec's pull request and returns the app's reply.
func (st *story) say(ctx context.Context, user, body string) (string, error) {
	s := st.s
	before, err := s.fake.PullRequest(demo.Org, demo.ControlRepo, st.prNumber)
	if err != nil {
		return "", err
	}
	if _, err := s.fake.Comment(ctx, demo.Org, demo.ControlRepo, st.prNumber, user, body); err != nil {
		return "", fmt.Errorf("comment as %s: %w", user, err)
	}
	if err := s.settle(ctx); err != nil {
		return "", err
	}
	after, err := s.fake.PullRequest(demo.Org, demo.ControlRepo, st.prNumber)
	if err != nil {
		return "", err
	}
	if len(after.Comments) <= len(before.Comments)+1 {
		return "", nil
	}
	return strings.Join(after.Comments[len(before.Comments)+1:], "\n"), nil
}

func (st *story) approve(ctx context.Context) error {
	st.n.Step("%s, the author, comments /campaign approve", demo.Author)
	reply, err := st.say(ctx, demo.Author, "/campaign approve")
	if err != nil {
		return err
	}
	st.n.Quote(reply, 8)
	st.expect(strings.Contains(reply, "❌"), "the author's own approval was not refused (four eyes)")

	st.n.Step("%s, a maintainer of %s, comments /campaign approve", demo.Maintainer, st.s.world.Control())
	reply, err = st.say(ctx, demo.Maintainer, "/campaign approve")
	if err != nil {
		return err
	}
	st.n.Quote(reply, 8)
	if !st.expect(strings.Contains(reply, "✅"), "the maintainer's approval was not accepted") {
		return fmt.Errorf("%w: not approved", ErrMismatch)
	}
	return nil
}

func (st *story) merge(ctx context.Context) error {
	s := st.s
	st.n.Step("%s merges pull request #%d: the spec lands and its run starts", demo.Maintainer, st.prNumber)
	st.statsAtMerge = s.fake.Stats()
	if _, err := s.fake.MergePullRequest(ctx, demo.Org, demo.ControlRepo, st.prNumber, demo.Maintainer, "squash"); err != nil {
		return fmt.Errorf("merge the spec: %w", err)
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	c, ok, err := s.store.CampaignByName(ctx, s.world.Control(), st.name)
	if err != nil {
		return err
	}
	if !st.expect(ok, "no campaign %s after the merge", st.name) {
		return fmt.Errorf("%w: no campaign", ErrMismatch)
	}
	run, ok, err := s.store.LatestRun(ctx, c.ID)
	if err != nil {
		return err
	}
	if !st.expect(ok, "no run of %s after the merge", st.name) {
		return fmt.Errorf("%w: no run", ErrMismatch)
	}
	st.runID = run.ID
	state := run.State
	if st.tasks, err = s.store.RunTasks(ctx, st.runID); err != nil {
		return err
	}
	st.n.Say("run %d: %s, %d repositories", st.runID, state, len(st.tasks))
	st.expect(state == store.RunRunning, "run state %s, predicted running", state)
	if st.sample {
		var got []string
		for _, t := range st.tasks {
			got = append(got, t.Repository)
		}
		sort.Strings(got)
		st.expect(slices.Equal(got, s.world.Targeted()), "run targets %v, predicted %v", got, s.world.Targeted())
	}
	return nil
}

// finalAfterExecution are the states a task rests in once executed and published.
var finalAfterExecution = map[string]bool{
	store.TaskPublished: true, store.TaskNoChanges: true, store.TaskFailed: true, store.TaskSkipped: true,
}

func (st *story) execute(ctx context.Context) error {
	s := st.s
	st.n.Step("the worker executes the steps in every repository (local executor) and publishes pull requests within GitHub's limits")
	deadline := time.Now().Add(s.opts.Timeout)
	type sample struct {
		at      time.Time
		content int
	}
	var window []sample
	for {
		tasks, err := s.store.RunTasks(ctx, st.runID)
		if err != nil {
			return err
		}
		counts := map[string]int{}
		for _, t := range tasks {
			counts[t.State]++
		}
		executed := len(tasks) - counts[store.TaskPending] - counts[store.TaskQueued] - counts[store.TaskRunning]
		changed := counts[store.TaskPatchReady] + counts[store.TaskPublishing] + counts[store.TaskPublished]
		now := time.Now()
		content := s.fake.Stats().Categories["content-creating"]
		window = append(window, sample{now, content})
		for len(window) > 1 && now.Sub(window[0].at) > time.Minute {
			window = window[1:]
		}
		lastMinute := content - window[0].content
		line := fmt.Sprintf("%s executed %d/%d · published %d/%d · waiting to publish %d · content-creating requests in the last minute %d (the app keeps to %d, GitHub refuses above 80)",
			progressBar(executed+counts[store.TaskPublished], len(tasks)+changed, 24), executed, len(tasks),
			counts[store.TaskPublished], changed, counts[store.TaskPatchReady]+counts[store.TaskPublishing], lastMinute, s.cfg.Publisher.ContentPerMinute)
		done := 0
		for _, t := range tasks {
			if finalAfterExecution[t.State] {
				done++
			}
		}
		if done == len(tasks) {
			st.n.EndBar(line)
			st.tasks = tasks
			break
		}
		st.n.Bar(line)
		if err := s.failure(); err != nil {
			return err
		}
		if now.After(deadline) {
			st.n.EndBar(line)
			st.expect(false, "the run did not finish executing and publishing within %s", s.opts.Timeout)
			return fmt.Errorf("%w: run stuck", ErrMismatch)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	st.statsPublished = s.fake.Stats()
	return st.checkPublished(ctx)
}

// checkPublished compares GitHub's pull requests with the prediction:
// exactly one pull request per changed repository, none elsewhere.
func (st *story) checkPublished(ctx context.Context) error {
	s := st.s
	changed := map[string]bool{}
	if st.sample {
		for _, r := range s.world.Changed() {
			changed[r] = true
		}
	}
	var failed []string
	for _, t := range st.tasks {
		if t.State == store.TaskFailed {
			failed = append(failed, t.Repository+": "+firstLine(t.Error))
		}
		if t.State == store.TaskPublished {
			st.published++
		}
		if !st.sample {
			changed[t.Repository] = t.State == store.TaskPublished
		}
	}
	st.expect(len(failed) == 0, "%d repositories failed: %s", len(failed), strings.Join(failed, "; "))
	for _, p := range s.world.Projects {
		full := p.FullName()
		var ours []githubfake.PullRequestState
		for _, n := range s.fake.PullRequests(demo.Org, p.Name) {
			pr, err := s.fake.PullRequest(demo.Org, p.Name, n)
			if err != nil {
				return err
			}
			if strings.HasPrefix(pr.Head, spec.BranchPrefix) {
				ours = append(ours, pr)
			}
		}
		if !changed[full] {
			st.expect(len(ours) == 0, "%s got %d pull requests, predicted none", full, len(ours))
			continue
		}
		if !st.expect(len(ours) == 1, "%s has %d campaign pull requests, predicted exactly one", full, len(ours)) {
			continue
		}
		if st.sample {
			want := demo.ChangedFiles(p)
			for path, content := range want {
				got, err := s.fake.FileContent(ctx, demo.Org, p.Name, ours[0].Head, path)
				st.expect(err == nil && got == content, "%s: %s on %s is not the predicted change", full, path, ours[0].Head)
			}
		}
	}
	noChange := 0
	for _, t := range st.tasks {
		if t.State == store.TaskNoChanges {
			noChange++
		}
	}
	st.n.Say("%d pull requests opened, %d repositories already up to date, %d failed", st.published, noChange, len(failed))
	if st.sample {
		st.expect(st.published == len(s.world.Changed()), "%d pull requests, predicted %d", st.published, len(s.world.Changed()))
	}
	return nil
}

// react plays the owners of the target repositories.
func (st *story) react(ctx context.Context) error {
	s := st.s
	var open []store.RepoTask
	for _, t := range st.tasks {
		if t.State == store.TaskPublished && t.PRNumber > 0 {
			open = append(open, t)
		}
	}
	if len(open) == 0 {
		return nil
	}
	nMerge := max(1, len(open)/4)
	take := func(k int) []store.RepoTask {
		k = min(k, len(open))
		out := open[:k]
		open = open[k:]
		return out
	}
	st.acted.merged = take(nMerge)
	st.acted.closed = take(1)
	st.acted.edited = take(1)
	st.acted.moved = take(1)
	st.n.Step("the owners of the repositories react: %s merges %d pull requests, closes %d, pushes a commit of their own to %d, and %d base branch moves on",
		demo.Developer, len(st.acted.merged), len(st.acted.closed), len(st.acted.edited), len(st.acted.moved))
	for _, t := range st.acted.merged {
		if _, err := s.fake.MergePullRequest(ctx, demo.Org, repoName(t), t.PRNumber, demo.Developer, "squash"); err != nil {
			return fmt.Errorf("merge %s#%d: %w", t.Repository, t.PRNumber, err)
		}
		st.n.Say("merged   %s#%d", t.Repository, t.PRNumber)
	}
	for _, t := range st.acted.closed {
		if err := s.fake.ClosePullRequest(ctx, demo.Org, repoName(t), t.PRNumber, demo.Developer); err != nil {
			return fmt.Errorf("close %s#%d: %w", t.Repository, t.PRNumber, err)
		}
		st.n.Say("closed   %s#%d", t.Repository, t.PRNumber)
	}
	for _, t := range st.acted.edited {
		if _, err := s.fake.PushCommit(ctx, demo.Org, repoName(t), t.Branch, demo.Developer, "docs: note the Go bump",
			map[string]string{"CHANGELOG.md": "## Unreleased\n\n- Go 1.26.\n"}); err != nil {
			return fmt.Errorf("push to %s %s: %w", t.Repository, t.Branch, err)
		}
		st.n.Say("edited   %s#%d (a commit by %s on the campaign branch)", t.Repository, t.PRNumber, demo.Developer)
	}
	for _, t := range st.acted.moved {
		if _, err := s.fake.PushCommit(ctx, demo.Org, repoName(t), t.BaseBranch, demo.Developer, "docs: on-call rota",
			map[string]string{"ONCALL.md": "# On call\n\nSee the rota.\n"}); err != nil {
			return fmt.Errorf("push to %s %s: %w", t.Repository, t.BaseBranch, err)
		}
		st.n.Say("moved    %s: a new commit on %s under #%d", t.Repository, t.BaseBranch, t.PRNumber)
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	return st.checkReactions(ctx)
}

// checkReactions compares GitHub's and the app's state after the people
// acted with the prediction. What the app does about merges, closes,
// human edits and moved bases is the reconciler's; this records what the
// code on this branch does.
func (st *story) checkReactions(ctx context.Context) error {
	s := st.s
	pr := func(t store.RepoTask) githubfake.PullRequestState {
		p, err := s.fake.PullRequest(demo.Org, repoName(t), t.PRNumber)
		if err != nil {
			st.expect(false, "%s#%d: %v", t.Repository, t.PRNumber, err)
		}
		return p
	}
	for _, t := range st.acted.merged {
		st.expect(pr(t).Merged, "%s#%d is not merged", t.Repository, t.PRNumber)
	}
	for _, t := range st.acted.closed {
		p := pr(t)
		st.expect(p.State == "closed" && !p.Merged, "%s#%d is %s, predicted closed", t.Repository, t.PRNumber, p.State)
	}
	for _, t := range st.acted.edited {
		got, err := s.fake.FileContent(ctx, demo.Org, repoName(t), t.Branch, "CHANGELOG.md")
		st.expect(err == nil && got != "", "%s: the person's commit on %s was lost", t.Repository, t.Branch)
	}
	for _, t := range append(append([]store.RepoTask{}, st.acted.edited...), st.acted.moved...) {
		p := pr(t)
		st.expect(p.State == "open", "%s#%d is %s, predicted open", t.Repository, t.PRNumber, p.State)
	}
	// Whether the app follows its pull requests after opening them is the
	// reconciler's work: when it does, merged and closed pull requests
	// become merged and closed tasks within moments; when it does not
	// (a build without it), every task stays published. The story
	// predicts whichever this build does and checks it consistently.
	tracked := map[string]string{}
	for _, t := range st.acted.merged {
		tracked[t.Repository] = store.TaskMerged
	}
	for _, t := range st.acted.closed {
		tracked[t.Repository] = store.TaskClosed
	}
	var tasks []store.RepoTask
	following := false
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if tasks, err = s.store.RunTasks(ctx, st.runID); err != nil {
			return err
		}
		done := 0
		for _, t := range tasks {
			if want, ok := tracked[t.Repository]; ok && t.State == want {
				done++
			}
		}
		following = following || done > 0
		if done == len(tracked) || (!following && time.Now().After(deadline.Add(-15*time.Second))) || time.Now().After(deadline) {
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	if following {
		st.n.Say("the app followed: merged and closed pull requests are final in its database")
	} else {
		st.n.Say("this build does not follow pull requests after opening them (no reconciler): its tasks stay published")
	}
	for _, t := range tasks {
		if t.PRNumber == 0 {
			continue
		}
		want, acted := tracked[t.Repository]
		switch {
		case following && acted:
			st.expect(t.State == want, "%s: task %s, predicted %s", t.Repository, t.State, want)
		case following:
			st.expect(t.State != store.TaskMerged && t.State != store.TaskClosed, "%s: task %s, but its pull request is open", t.Repository, t.State)
		default:
			st.expect(t.State == store.TaskPublished, "%s: task %s, predicted published", t.Repository, t.State)
		}
	}
	st.tasks = tasks
	return nil
}

// dashboard prints the run's check run once it shows what the database holds.
func (st *story) dashboard(ctx context.Context) error {
	s := st.s
	name := "campaign: " + st.name
	deadline := time.Now().Add(s.opts.Timeout)
	var got githubfake.CheckRunState
	var want status.Dashboard
	for {
		v, err := s.store.LoadRunView(ctx, st.runID)
		if err != nil {
			return err
		}
		want = status.Render(v, nil)
		found := false
		for _, c := range s.fake.CheckRuns(demo.Org, demo.ControlRepo) {
			if c.Name == name {
				got, found = c, true
			}
		}
		if found && got.Summary == want.Summary && got.Title == want.Title {
			break
		}
		if time.Now().After(deadline) {
			st.n.Step("the dashboard (check run %q on %s)", name, s.world.Control())
			st.expect(false, "the dashboard does not show the run's state after %s", s.opts.Timeout)
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	st.n.Step("the dashboard, as the check run %q on %s shows it", name, s.world.Control())
	st.n.Say("%s — %s", got.Status, got.Title)
	st.n.Quote(got.Summary, 60)
	return nil
}

// figures prints what the story cost.
func (st *story) figures(wall time.Duration) {
	s := st.s
	st.n.Step("figures")
	st.n.Say("wall time                %s", wall.Round(100*time.Millisecond))
	if st.published > 0 && st.statsPublished.Categories != nil {
		d := func(kind string) float64 {
			return float64(st.statsPublished.Categories[kind]-st.statsAtMerge.Categories[kind]) / float64(st.published)
		}
		total := float64(st.statsPublished.Requests()-st.statsAtMerge.Requests()) / float64(st.published)
		st.n.Say("GitHub requests per published pull request, from the merge of the spec to the last pull request (%d PRs):", st.published)
		st.n.Say("  %-18s %5.1f", "REST reads", d("read"))
		st.n.Say("  %-18s %5.1f  (%.1f points)", "GraphQL", d("graphql"), d("graphql-points"))
		st.n.Say("  %-18s %5.1f  (REST writes + GraphQL mutation fields: what GitHub's secondary limit counts)", "content-creating", d("content-creating"))
		st.n.Say("  %-18s %5.1f  (clones by the executor)", "git", d("git"))
		st.n.Say("  %-18s %5.1f", "all requests", total)
	}
	r := s.refusals.Counts()
	st.n.Say("secondary-limit errors   %d", r.SecondaryLimit)
	st.n.Say("primary-limit errors     %d   server errors %d", r.PrimaryLimit, r.ServerErrors)
	st.expect(r.SecondaryLimit == 0, "%d secondary-limit answers from GitHub, predicted none", r.SecondaryLimit)
}

// verdict says whether the story ended as predicted.
func (st *story) verdict() error {
	if len(st.mismatches) == 0 {
		st.n.Plain("\n✓ the story ended as predicted")
		return nil
	}
	st.n.Plain("\n✗ the story did not end as predicted:")
	for _, m := range st.mismatches {
		st.n.Say("- %s", m)
	}
	return fmt.Errorf("%w (%d differences)", ErrMismatch, len(st.mismatches))
}

func repoName(t store.RepoTask) string {
	_, name, _ := strings.Cut(t.Repository, "/")
	return name
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
