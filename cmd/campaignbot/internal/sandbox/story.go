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
	drift  spec.Drift
	sample bool // the sample spec on the demo world: outcomes known per repository

	mismatches []string
	prNumber   int
	runID      int64
	tasks      []store.RepoTask

	statsAtMerge   githubfake.Stats
	statsPublished githubfake.Stats
	// statsReacted and statsFollowed frame what following the people's
	// reactions cost.
	statsReacted  githubfake.Stats
	statsFollowed githubfake.Stats
	published     int
	acted         people
}

// people is what the simulated people did to the campaign's pull requests.
type people struct {
	merged, closed []store.RepoTask
	edited, moved  []store.RepoTask
	// personal: repository -> the person's commit on the campaign branch;
	// newBase: repository -> the base branch's new head; files: repository
	// -> the paths the campaign's commit changed before the base moved.
	personal map[string]string
	newBase  map[string]string
	files    map[string][]string
	// at is when they acted; followed how long the app took to show all
	// of it in its database.
	at       time.Time
	followed time.Duration
}

func newStory(s *Sandbox, sp *spec.Spec) *story {
	st := &story{s: s, n: s.n, name: sp.Name, path: "campaigns/" + sp.Name + ".yaml"}
	st.needs = sp.WithDefaults().Rollout.Approval != spec.ApprovalNone
	st.drift = sp.WithDefaults().Drift
	st.sample = bytes.Equal(s.opts.Spec, specs.Sandbox)
	return st
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
	st.acted.personal = map[string]string{}
	st.acted.newBase = map[string]string{}
	st.acted.files = map[string][]string{}
	st.n.Step("the owners of the repositories react: %s merges %d pull requests, closes %d, pushes a commit of their own to %d, and %d base branch moves on",
		demo.Developer, len(st.acted.merged), len(st.acted.closed), len(st.acted.edited), len(st.acted.moved))
	for _, t := range st.acted.moved {
		// What the campaign's commit changes, to compare after the rebase.
		c, err := s.fake.Commit(ctx, demo.Org, repoName(t), t.HeadSHA)
		if err != nil {
			return fmt.Errorf("read %s's campaign commit: %w", t.Repository, err)
		}
		st.acted.files[t.Repository] = c.Files
	}
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
		sha, err := s.fake.PushCommit(ctx, demo.Org, repoName(t), t.Branch, demo.Developer, "docs: note the Go bump",
			map[string]string{"CHANGELOG.md": "## Unreleased\n\n- Go 1.26.\n"})
		if err != nil {
			return fmt.Errorf("push to %s %s: %w", t.Repository, t.Branch, err)
		}
		st.acted.personal[t.Repository] = sha
		st.n.Say("edited   %s#%d (a commit by %s on the campaign branch)", t.Repository, t.PRNumber, demo.Developer)
	}
	for _, t := range st.acted.moved {
		sha, err := s.fake.PushCommit(ctx, demo.Org, repoName(t), t.BaseBranch, demo.Developer, "docs: on-call rota",
			map[string]string{"ONCALL.md": "# On call\n\nSee the rota.\n"})
		if err != nil {
			return fmt.Errorf("push to %s %s: %w", t.Repository, t.BaseBranch, err)
		}
		st.acted.newBase[t.Repository] = sha
		st.n.Say("moved    %s: a new commit on %s under #%d", t.Repository, t.BaseBranch, t.PRNumber)
	}
	st.acted.at = time.Now()
	st.statsReacted = s.fake.Stats()
	if err := s.settle(ctx); err != nil {
		return err
	}
	return st.checkReactions(ctx)
}

// prediction is what the app's database should show for one pull request
// the people acted on; want says whether it does yet.
type prediction struct {
	task store.RepoTask
	what string
	want func(store.RepoTask, store.Changeset) bool
}

// checkReactions waits until the app's database shows what the reconciler
// does about each reaction, then compares GitHub's state with it:
//   - merged and closed pull requests become merged and closed tasks;
//   - a person's commit (drift.humanEdits: stop) is recorded, said once in
//     a comment, and left as the branch's head; with overwrite the app's
//     change is published over it;
//   - a moved base (drift.baseChanged: rebase) is waited out for the
//     debounce, the steps run again on the new base and the branch becomes
//     the new base + one commit with the same change; ignore and recreate
//     (no conflict here) only record the move.
func (st *story) checkReactions(ctx context.Context) error {
	s := st.s
	drift := st.drift
	var preds []prediction
	for _, t := range st.acted.merged {
		preds = append(preds, prediction{t, "merged", func(t store.RepoTask, _ store.Changeset) bool { return t.State == store.TaskMerged }})
	}
	for _, t := range st.acted.closed {
		preds = append(preds, prediction{t, "closed", func(t store.RepoTask, _ store.Changeset) bool { return t.State == store.TaskClosed }})
	}
	for _, t := range st.acted.edited {
		personal := st.acted.personal[t.Repository]
		if drift.HumanEdits == spec.HumanEditsOverwrite {
			preds = append(preds, prediction{t, "published again over the person's commit", func(t store.RepoTask, cs store.Changeset) bool {
				return t.State == store.TaskPublished && cs.LastPushedSHA == t.HeadSHA && t.HeadSHA != personal && cs.HumanEditedSHA == ""
			}})
			continue
		}
		preds = append(preds, prediction{t, "published, the person's commit recorded (automation stopped)", func(t store.RepoTask, cs store.Changeset) bool {
			return t.State == store.TaskPublished && cs.HumanEditedSHA == personal
		}})
	}
	for _, t := range st.acted.moved {
		base, oldHead := st.acted.newBase[t.Repository], t.HeadSHA
		if drift.BaseChanged == spec.BaseChangedRebase {
			preds = append(preds, prediction{t, "rebased on the new base", func(t store.RepoTask, cs store.Changeset) bool {
				return t.State == store.TaskPublished && t.BaseSHA == base && t.HeadSHA != oldHead && cs.LastPushedSHA == t.HeadSHA && cs.DriftHandledSHA == base
			}})
			continue
		}
		preds = append(preds, prediction{t, "published, the move recorded and left alone (drift.baseChanged: " + drift.BaseChanged + ")", func(t store.RepoTask, cs store.Changeset) bool {
			return t.State == store.TaskPublished && t.HeadSHA == oldHead && cs.BaseHeadSHA == base && cs.DriftHandledSHA == base
		}})
	}
	if len(st.acted.moved) > 0 {
		st.n.Say("the app waits until the base has been quiet for %s (CAMPAIGN_RECONCILE_DRIFT_DEBOUNCE; 2m in production), then applies drift.baseChanged: %s",
			s.cfg.Reconcile.DriftDebounce, drift.BaseChanged)
	}

	deadline := time.Now().Add(s.opts.Timeout)
	var tasks []store.RepoTask
	sets := map[string]store.Changeset{}
	for {
		var err error
		if tasks, err = s.store.RunTasks(ctx, st.runID); err != nil {
			return err
		}
		byRepo := map[string]store.RepoTask{}
		for _, t := range tasks {
			byRepo[t.Repository] = t
		}
		pending := 0
		for _, p := range preds {
			cs, err := s.store.Changeset(ctx, p.task.ID)
			if err != nil {
				return err
			}
			sets[p.task.Repository] = cs
			if !p.want(byRepo[p.task.Repository], cs) {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if err := s.failure(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			for _, p := range preds {
				t := byRepo[p.task.Repository]
				st.expect(p.want(t, sets[p.task.Repository]), "%s#%d: task %s, predicted %s", t.Repository, t.PRNumber, t.State, p.what)
			}
			st.tasks = tasks
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	st.acted.followed = time.Since(st.acted.at)
	st.n.Say("the app followed within %s: %d merged and %d closed in its database, the person's commit %s, the base move %s",
		st.acted.followed.Round(100*time.Millisecond), len(st.acted.merged), len(st.acted.closed),
		map[string]string{spec.HumanEditsStop: "respected", spec.HumanEditsOverwrite: "overwritten"}[st.drift.HumanEdits],
		map[bool]string{true: "rebased", false: "recorded"}[st.drift.BaseChanged == spec.BaseChangedRebase])
	st.tasks = tasks
	if err := s.settle(ctx); err != nil {
		return err
	}
	st.statsFollowed = s.fake.Stats()

	// GitHub's state agrees.
	pr := func(t store.RepoTask) githubfake.PullRequestState {
		p, err := s.fake.PullRequest(demo.Org, repoName(t), t.PRNumber)
		st.expect(err == nil, "%s#%d: %v", t.Repository, t.PRNumber, err)
		return p
	}
	bot := s.fake.AppSlug() + "[bot]"
	appComments := func(p githubfake.PullRequestState) []string {
		var out []string
		for i, body := range p.Comments {
			if i < len(p.CommentUsers) && p.CommentUsers[i] == bot {
				out = append(out, body)
			}
		}
		return out
	}
	for _, t := range st.acted.merged {
		st.expect(pr(t).Merged, "%s#%d is not merged", t.Repository, t.PRNumber)
	}
	for _, t := range st.acted.closed {
		p := pr(t)
		st.expect(p.State == "closed" && !p.Merged, "%s#%d is %s, predicted closed (never reopened)", t.Repository, t.PRNumber, p.State)
	}
	byRepo := map[string]store.RepoTask{}
	for _, t := range tasks {
		byRepo[t.Repository] = t
	}
	for _, t := range st.acted.edited {
		p := pr(t)
		personal := st.acted.personal[t.Repository]
		comments := appComments(p)
		st.expect(p.State == "open", "%s#%d is %s, predicted open", t.Repository, t.PRNumber, p.State)
		if drift.HumanEdits == spec.HumanEditsOverwrite {
			st.expect(p.HeadSHA != personal && p.HeadSHA == byRepo[t.Repository].HeadSHA,
				"%s#%d: head %s, predicted the app's change published over the person's commit", t.Repository, t.PRNumber, short(p.HeadSHA))
			c, err := s.fake.Commit(ctx, demo.Org, repoName(t), p.HeadSHA)
			st.expect(err == nil && slices.Equal(c.Parents, []string{byRepo[t.Repository].BaseSHA}),
				"%s#%d: the overwritten branch is not one commit on its base (parents %v, %v)", t.Repository, t.PRNumber, c.Parents, err)
			st.expect(len(comments) == 0, "%s#%d: the app commented %q, predicted nothing", t.Repository, t.PRNumber, comments)
			st.n.Say("%s#%d: the person's commit was overwritten by the campaign's change (drift.humanEdits: overwrite)", t.Repository, t.PRNumber)
			continue
		}
		st.expect(p.HeadSHA == personal, "%s#%d: head %s, predicted the person's commit %s", t.Repository, t.PRNumber, short(p.HeadSHA), short(personal))
		if st.expect(len(comments) == 1 && strings.Contains(comments[0], "no longer updates this pull request"),
			"%s#%d: the app commented %d times (%q), predicted once that automation stopped", t.Repository, t.PRNumber, len(comments), comments) {
			st.n.Say("%s#%d keeps %s's commit %s as its head; the app said once that it stopped:", t.Repository, t.PRNumber, demo.Developer, short(personal))
			st.n.Quote(comments[0], 4)
		}
	}
	for _, t := range st.acted.moved {
		p := pr(t)
		now := byRepo[t.Repository]
		base := st.acted.newBase[t.Repository]
		st.expect(p.State == "open" && p.HeadSHA == now.HeadSHA, "%s#%d: %s at %s, predicted open at %s", t.Repository, t.PRNumber, p.State, short(p.HeadSHA), short(now.HeadSHA))
		c, err := s.fake.Commit(ctx, demo.Org, repoName(t), p.HeadSHA)
		if !st.expect(err == nil, "%s: read the head commit: %v", t.Repository, err) {
			continue
		}
		if drift.BaseChanged != spec.BaseChangedRebase {
			if st.expect(slices.Equal(c.Parents, []string{t.BaseSHA}), "%s#%d: head commit on %v, predicted left on the old base %s", t.Repository, t.PRNumber, c.Parents, short(t.BaseSHA)) {
				st.n.Say("%s#%d stays on its old base (drift.baseChanged: %s); the dashboard says it is behind", t.Repository, t.PRNumber, drift.BaseChanged)
			}
			continue
		}
		want := st.acted.files[t.Repository]
		st.expect(slices.Equal(c.Parents, []string{base}), "%s#%d: head commit's parents %v, predicted the new base %s", t.Repository, t.PRNumber, c.Parents, short(base))
		st.expect(slices.Equal(c.Files, want), "%s#%d: the rebased commit changes %v, predicted the campaign's change %v", t.Repository, t.PRNumber, c.Files, want)
		if st.sample {
			for path, content := range demo.ChangedFiles(projectOf(s.world, t.Repository)) {
				got, err := s.fake.FileContent(ctx, demo.Org, repoName(t), p.HeadSHA, path)
				st.expect(err == nil && got == content, "%s: %s after the rebase is not the predicted change", t.Repository, path)
			}
		}
		st.n.Say("%s#%d rebased within %s of the move: one commit (%s) on the new %s %s, the same change",
			t.Repository, t.PRNumber, st.acted.followed.Round(time.Second), strings.Join(c.Files, ", "), t.BaseBranch, short(base))
	}
	// Pull requests nobody touched are still open, their tasks published.
	acted := map[string]bool{}
	for _, g := range [][]store.RepoTask{st.acted.merged, st.acted.closed, st.acted.edited, st.acted.moved} {
		for _, t := range g {
			acted[t.Repository] = true
		}
	}
	for _, t := range tasks {
		if t.PRNumber > 0 && !acted[t.Repository] {
			st.expect(t.State == store.TaskPublished, "%s: task %s, but nobody touched its open pull request", t.Repository, t.State)
		}
	}
	return nil
}

func projectOf(w *demo.World, full string) demo.Project {
	for _, p := range w.Projects {
		if p.FullName() == full {
			return p
		}
	}
	return demo.Project{}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
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
	st.checkDashboard(got)
	return nil
}

// checkDashboard compares the dashboard with what the people did: the
// headline counts the merged pull requests, and the rows say who closed
// one, that automation stopped on the edited one and whether the moved
// one is behind its base.
func (st *story) checkDashboard(d githubfake.CheckRunState) {
	prs := 0
	for _, t := range st.tasks {
		if t.PRNumber > 0 {
			prs++
		}
	}
	if prs > 0 {
		want := fmt.Sprintf("%d/%d pull requests merged", len(st.acted.merged), prs)
		st.expect(strings.Contains(d.Title, want), "dashboard headline %q, predicted %q", d.Title, want)
	}
	row := func(repo string) string {
		for _, l := range strings.Split(d.Summary, "\n") {
			if strings.HasPrefix(l, "| "+repo+" |") {
				return l
			}
		}
		return ""
	}
	for _, t := range st.acted.merged {
		st.expect(strings.HasPrefix(row(t.Repository), "| "+t.Repository+" | merged |"), "dashboard row %q, predicted merged", row(t.Repository))
	}
	for _, t := range st.acted.closed {
		r := row(t.Repository)
		st.expect(strings.Contains(r, "| closed |") && strings.Contains(r, "closed by "+demo.Developer), "dashboard row %q, predicted closed by %s", r, demo.Developer)
	}
	for _, t := range st.acted.edited {
		r := row(t.Repository)
		stopped := strings.Contains(r, "human edit: automation stopped")
		if st.drift.HumanEdits == spec.HumanEditsOverwrite {
			st.expect(!stopped && strings.Contains(r, "| published |"), "dashboard row %q, predicted published without a stop note", r)
		} else {
			st.expect(stopped && strings.Contains(r, "| published |"), "dashboard row %q, predicted published with automation stopped", r)
		}
	}
	for _, t := range st.acted.moved {
		r := row(t.Repository)
		behind := strings.Contains(r, "behind base")
		if st.drift.BaseChanged == spec.BaseChangedRebase {
			st.expect(!behind && strings.Contains(r, "| published |"), "dashboard row %q, predicted published and up to date after the rebase", r)
		} else {
			st.expect(behind && strings.Contains(r, "| published |"), "dashboard row %q, predicted published and behind base", r)
		}
	}
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
	if st.statsFollowed.Categories != nil {
		d := func(kind string) int { return st.statsFollowed.Categories[kind] - st.statsReacted.Categories[kind] }
		st.n.Say("GitHub requests the app made following the people's reactions (re-reads, comments, re-publishing, dashboards): %d",
			st.statsFollowed.Requests()-st.statsReacted.Requests())
		st.n.Say("  REST reads %d · GraphQL %d (%d points) · content-creating %d · git %d",
			d("read"), d("graphql"), d("graphql-points"), d("content-creating"), d("git"))
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
