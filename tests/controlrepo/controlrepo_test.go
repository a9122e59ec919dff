// Package controlrepo_test drives the life of campaign specs in a control
// repository end to end on githubfake: plan check runs on pull requests,
// spec versions on merge, closing on removal.
package controlrepo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

const validSpec = `version: 1
name: bump-go
description: Raise the go directive to 1.26.
targets:
  query: "org:octo-org language:Go"
  require:
    files: [go.mod]
steps:
  - name: bump
    image: golang:1.26-alpine
    run: go mod edit -go=1.26
pullRequest:
  title: "chore: bump Go to 1.26"
  labels: [automated]
`

// invalidSpec has problems on lines 2, 7 and 9.
const invalidSpec = `version: 1
name: Bad_Name
targets:
  query: "org:octo-org"
steps:
  - name: bump
    timout: 10m
    run: echo hi
pullrequest:
  title: x
`

type world struct {
	*stack.Stack
	ctx            context.Context
	installationID int64
}

func newWorld(t *testing.T) *world {
	s := stack.New(t, func(c *config.Config) { c.Campaign.ControlRepo = "octo-org/platform" })
	ctx := context.Background()
	org, err := s.Fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "octo-org", Repos: 4, Files: map[string]string{"go.mod": "module x\n\ngo 1.22\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fake.CreateRepo(ctx, "octo-org", githubfake.RepoSpec{Name: "platform", Files: map[string]string{"README.md": "control\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fake.CreateRepo(ctx, "octo-org", githubfake.RepoSpec{Name: "legacy", Language: "Go", Archived: true, Files: map[string]string{"go.mod": "module legacy\n"}}); err != nil {
		t.Fatal(err)
	}
	return &world{Stack: s, ctx: ctx, installationID: org.InstallationID}
}

// openSpecPR pushes files to a new branch and opens a pull request.
func (w *world) openSpecPR(branch string, files map[string]string, deletes ...string) (int, string) {
	w.T.Helper()
	sha, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", branch, "alice", "specs", files, deletes...)
	if err != nil {
		w.T.Fatal(err)
	}
	n, err := w.Fake.OpenPullRequest(w.ctx, "octo-org", "platform", githubfake.PullRequestSpec{Title: branch, Head: branch, Base: "main", User: w.Fake.CreateUser("alice")})
	if err != nil {
		w.T.Fatal(err)
	}
	w.Settle()
	return n, sha
}

func (w *world) checks(headSHA string) map[string]githubfake.CheckRunState {
	out := map[string]githubfake.CheckRunState{}
	for _, c := range w.Fake.CheckRuns("octo-org", "platform") {
		if c.HeadSHA == headSHA {
			out[c.Name] = c
		}
	}
	return out
}

func (w *world) versions(name string) []store.SpecVersion {
	w.T.Helper()
	c, ok, err := w.Store.CampaignByName(w.ctx, "octo-org/platform", name)
	if err != nil {
		w.T.Fatal(err)
	}
	if !ok {
		return nil
	}
	vs, err := w.Store.SpecVersions(w.ctx, c.ID)
	if err != nil {
		w.T.Fatal(err)
	}
	return vs
}

func TestValidSpecPRGetsSuccessPlan(t *testing.T) {
	w := newWorld(t)
	_, sha := w.openSpecPR("add-bump-go", map[string]string{"campaigns/bump-go.yaml": validSpec})
	c, ok := w.checks(sha)["campaign plan: bump-go"]
	if !ok {
		t.Fatalf("no plan check on %s; checks: %v", sha, w.Fake.CheckRuns("octo-org", "platform"))
	}
	if c.Status != "completed" || c.Conclusion != "success" || len(c.Annotations) != 0 {
		t.Fatalf("plan = %s/%s with %d annotations: %s", c.Status, c.Conclusion, len(c.Annotations), c.Summary)
	}
	// octo-org has repo-0001..0004 (Go, with go.mod), the archived legacy (Go, go.mod) and the control repository itself.
	if c.Title != "4 repositories match" {
		t.Errorf("title = %q, want 4 repositories match", c.Title)
	}
	for _, want := range []string{"bump-go", "/campaign approve bump-go", "golang:1.26-alpine", "chore: bump Go to 1.26",
		"- octo-org/repo-0001", "- octo-org/repo-0004", "| octo-org/legacy | archived |"} {
		if !strings.Contains(c.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, c.Summary)
		}
	}
	if !strings.Contains(c.Text, "+name: bump-go") {
		t.Errorf("text lacks the spec diff:\n%s", c.Text)
	}
	if vs := w.versions("bump-go"); len(vs) != 0 {
		t.Fatalf("an unmerged spec made versions: %v", vs)
	}
}

func TestInvalidSpecPRGetsAnnotationsOnTheRightLines(t *testing.T) {
	w := newWorld(t)
	_, sha := w.openSpecPR("add-bad", map[string]string{"campaigns/bad.yaml": invalidSpec})
	checks := w.checks(sha)
	if len(checks) != 1 {
		t.Fatalf("want one check, got %v", checks)
	}
	var c githubfake.CheckRunState
	for _, c = range checks {
	}
	if c.Conclusion != "failure" {
		t.Fatalf("conclusion %s", c.Conclusion)
	}
	_, diags := spec.Parse("campaigns/bad.yaml", []byte(invalidSpec))
	if len(diags) == 0 || len(c.Annotations) != len(diags) {
		t.Fatalf("%d annotations for %d diagnostics: %+v", len(c.Annotations), len(diags), c.Annotations)
	}
	lines := map[int]bool{}
	for i, a := range c.Annotations {
		if a.Path != "campaigns/bad.yaml" || a.StartLine != diags[i].Line || a.Message != diags[i].Message || a.AnnotationLevel != "failure" {
			t.Errorf("annotation %d = %+v, want line %d %q", i, a, diags[i].Line, diags[i].Message)
		}
		lines[a.StartLine] = true
	}
	for _, l := range []int{2, 7, 9} {
		if !lines[l] {
			t.Errorf("no annotation on line %d: %+v", l, c.Annotations)
		}
	}
}

func TestMergeCreatesVersionsAndRemovalCloses(t *testing.T) {
	w := newWorld(t)
	n, _ := w.openSpecPR("add-bump-go", map[string]string{"campaigns/bump-go.yaml": validSpec})
	if _, err := w.Fake.MergePullRequest(w.ctx, "octo-org", "platform", n, "bob", "merge"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	vs := w.versions("bump-go")
	if len(vs) != 1 || vs[0].Version != 1 || vs[0].YAML != validSpec {
		t.Fatalf("after merge: %+v", vs)
	}

	// A change to the spec makes version 2.
	changed := strings.Replace(validSpec, "go 1.26", "go 1.27", 1) + "# tweak\n"
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "main", "bob", "tweak", map[string]string{"campaigns/bump-go.yaml": changed}); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if vs := w.versions("bump-go"); len(vs) != 2 || vs[1].Version != 2 || vs[1].YAML != changed {
		t.Fatalf("after change: %+v", vs)
	}

	// A push that leaves the spec identical makes none; a broken spec keeps version 2 in force.
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "main", "bob", "docs", map[string]string{"README.md": "more\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "main", "bob", "oops", map[string]string{"campaigns/bump-go.yaml": "version: 1\nname: bump-go\n  bad: [\n"}); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if vs := w.versions("bump-go"); len(vs) != 2 {
		t.Fatalf("identical or invalid pushes made versions: %+v", vs)
	}
	if c, _, _ := w.Store.CampaignByName(w.ctx, "octo-org/platform", "bump-go"); c.State != store.CampaignActive {
		t.Fatalf("an invalid spec closed the campaign: %+v", c)
	}

	// Removing the file closes the campaign.
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "main", "bob", "remove", nil, "campaigns/bump-go.yaml"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	c, ok, err := w.Store.CampaignByName(w.ctx, "octo-org/platform", "bump-go")
	if err != nil || !ok || c.State != store.CampaignClosed || c.ClosedAt == nil {
		t.Fatalf("after removal: %+v %v %v", c, ok, err)
	}
}

func TestSynchronizeReplansTheNewHeadOnly(t *testing.T) {
	w := newWorld(t)
	_, first := w.openSpecPR("evolving", map[string]string{"campaigns/bump-go.yaml": invalidSpec})
	second, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "evolving", "alice", "fix", map[string]string{"campaigns/bump-go.yaml": validSpec})
	if err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if c := w.checks(second)["campaign plan: bump-go"]; c.Conclusion != "success" {
		t.Fatalf("new head plan = %+v", c)
	}
	if old := w.checks(first); len(old) != 1 {
		t.Fatalf("old head should keep exactly its own plan, got %v", old)
	}
}

func TestPushesElsewhereAreIgnored(t *testing.T) {
	w := newWorld(t)
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "platform", "feature", "alice", "wip", map[string]string{"campaigns/bump-go.yaml": validSpec}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Fake.PushCommit(w.ctx, "octo-org", "repo-0001", "main", "alice", "x", map[string]string{"campaigns/bump-go.yaml": validSpec}); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	if vs := w.versions("bump-go"); len(vs) != 0 {
		t.Fatalf("a push off the control repository's default branch made versions: %+v", vs)
	}
}

func TestBadSpecFilesGetClearFailures(t *testing.T) {
	w := newWorld(t)
	var many strings.Builder
	many.WriteString(validSpec)
	for i := range 60 {
		many.WriteString("unknown" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ": 1\n")
	}
	files := map[string]string{
		"campaigns/binary.yaml": "version: 1\x00\x01\x02",
		"campaigns/huge.yaml":   validSpec + "# " + strings.Repeat("x", 300<<10) + "\n",
		"campaigns/dup.yaml":    strings.Replace(validSpec, "description: Raise", "description: Also raise", 1),
		"campaigns/first.yaml":  validSpec,
		"campaigns/many.yaml":   strings.Replace(many.String(), "name: bump-go", "name: many", 1),
		"campaigns/tmpl.yaml":   strings.Replace(strings.Replace(validSpec, "name: bump-go", "name: tmpl", 1), `title: "chore: bump Go to 1.26"`, `title: "{{ .Repository.Nmae }"`, 1),
	}
	_, sha := w.openSpecPR("bad-inputs", files)
	checks := w.checks(sha)
	want := map[string]string{
		"campaign plan: campaigns/binary.yaml":          "binary",
		"campaign plan: campaigns/huge.yaml":            "too large",
		"campaign plan: bump-go (campaigns/dup.yaml)":   "",
		"campaign plan: bump-go (campaigns/first.yaml)": "already used by campaigns/dup.yaml",
		"campaign plan: many":                           "unknown key",
		"campaign plan: tmpl":                           "template",
	}
	for name, msg := range want {
		c, ok := checks[name]
		if !ok {
			t.Errorf("no check %q; have %v", name, keys(checks))
			continue
		}
		if msg == "" {
			continue
		}
		if c.Conclusion != "failure" || !strings.Contains(strings.ToLower(c.Summary), msg) {
			t.Errorf("%s: %s, summary lacks %q:\n%s", name, c.Conclusion, msg, c.Summary)
		}
	}
	// dup.yaml and first.yaml share a name: the later file (by path) fails, each check keeps its own name.
	if c := checks["campaign plan: bump-go (campaigns/dup.yaml)"]; c.Conclusion != "success" {
		t.Errorf("the first file with the name should plan fine: %s %s", c.Conclusion, c.Summary)
	}
	// More than GitHub's 50 annotations per request all arrive.
	if c := checks["campaign plan: many"]; len(c.Annotations) < 60 {
		t.Errorf("many.yaml has %d annotations, want at least 60", len(c.Annotations))
	}
}

func keys(m map[string]githubfake.CheckRunState) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestApprovalFreeSpecStartsARunOnMerge(t *testing.T) {
	w := newWorld(t)
	free := strings.Replace(validSpec, "run: go mod edit -go=1.26", `run: sed -i 's/^go 1.22$/go 1.26/' go.mod`, 1) + "rollout:\n  approval: none\n"
	n, _ := w.openSpecPR("add-free", map[string]string{"campaigns/bump-go.yaml": free})
	if _, err := w.Fake.MergePullRequest(w.ctx, "octo-org", "platform", n, "bob", "merge"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	vs := w.versions("bump-go")
	if len(vs) != 1 {
		t.Fatalf("versions = %+v", vs)
	}
	var runID int64
	if err := w.Store.Pool().QueryRow(w.ctx, `SELECT id FROM runs WHERE spec_version_id = $1`, vs[0].ID).Scan(&runID); err != nil {
		t.Fatalf("no run for the approval-free version: %v", err)
	}
	tasks, err := w.Store.RunTasks(w.ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	var repos []string
	for _, tk := range tasks {
		repos = append(repos, tk.Repository)
		if tk.BaseBranch != "main" || len(tk.BaseSHA) != 40 {
			t.Errorf("task %s has no base commit: %+v", tk.Repository, tk)
		}
	}
	if strings.Join(repos, ",") != "octo-org/repo-0001,octo-org/repo-0002,octo-org/repo-0003,octo-org/repo-0004" {
		t.Fatalf("run targets = %v", repos)
	}
	// The worker's local executor clones each repository (real git, a
	// read-only token for that repository alone), runs the step and keeps the change.
	w.WaitFor("every task executed", func() bool {
		tasks, _ := w.Store.RunTasks(w.ctx, runID)
		done := 0
		for _, tk := range tasks {
			switch tk.State { // executed: the change is kept, and maybe published already
			case store.TaskPatchReady, store.TaskPublishing, store.TaskPublished:
				done++
			}
		}
		return done == 4
	})
	// One repository-scoped, read-only token per checkout; git fetches count as git, not REST.
	if n := w.Fake.Stats().Routes["POST /app/installations/{installation_id}/access_tokens"]; n < 4 {
		t.Errorf("%d scoped tokens minted for 4 checkouts", n)
	}
	// Then each change is published: one pull request per repository, on the campaign's branch.
	w.WaitFor("every pull request", func() bool {
		tasks, _ := w.Store.RunTasks(w.ctx, runID)
		n := 0
		for _, tk := range tasks {
			if tk.State == "published" && tk.PRNumber > 0 {
				n++
			}
		}
		return n == 4
	})
	tasks, _ = w.Store.RunTasks(w.ctx, runID)
	for _, tk := range tasks {
		pr, err := w.Fake.PullRequest("octo-org", strings.TrimPrefix(tk.Repository, "octo-org/"), tk.PRNumber)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(pr.Head, "campaign/") || pr.Title != "chore: bump Go to 1.26" {
			t.Errorf("%s: PR %+v", tk.Repository, pr)
		}
		got, err := w.Fake.FileContent(w.ctx, "octo-org", strings.TrimPrefix(tk.Repository, "octo-org/"), pr.Head, "go.mod")
		if err != nil || got != "module x\n\ngo 1.26\n" {
			t.Errorf("%s: go.mod on the campaign branch = %q, %v", tk.Repository, got, err)
		}
	}
	storage, err := artifacts.NewFileStorage(w.Config.Runner.ArtifactDir)
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ = w.Store.RunTasks(w.ctx, runID)
	res, err := artifacts.ReadResult(w.ctx, storage, w.Store, tasks[0].ID, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 1 || res.Changed[0].Path != "go.mod" || string(res.Changed[0].Content) != "module x\n\ngo 1.26\n" || res.BaseSHA != tasks[0].BaseSHA {
		t.Fatalf("result = %+v", res)
	}
	// A spec that needs approval does not start on merge.
	n2, _ := w.openSpecPR("add-gated", map[string]string{"campaigns/gated.yaml": strings.Replace(validSpec, "name: bump-go", "name: gated", 1)})
	if _, err := w.Fake.MergePullRequest(w.ctx, "octo-org", "platform", n2, "bob", "merge"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	var running, waiting int
	if err := w.Store.Pool().QueryRow(w.ctx, `SELECT count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'awaiting_approval') FROM runs`).
		Scan(&running, &waiting); err != nil || running != 1 || waiting != 1 {
		t.Fatalf("running=%d waiting=%d (%v): an unapproved spec must wait, not start", running, waiting, err)
	}
}
