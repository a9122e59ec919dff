package publisher

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/google/go-github/v74/github"
)

// checkPR verifies a published pull request against GitHub's state.
func (e *env) checkPR(repo string, version int, r *runner.Result, out Output) {
	e.t.Helper()
	e.checkPRv(repo, version, version, r, out)
}

// checkPRv is checkPR for a pull request opened by spec version branchV
// and last published by version.
func (e *env) checkPRv(repo string, branchV, version int, r *runner.Result, out Output) {
	e.t.Helper()
	owner, name := split(repo)
	if want := spec.BranchName(42, branchV, repo); out.Branch != want {
		e.t.Errorf("%s: branch %q, want %q", repo, out.Branch, want)
	}
	pr, err := e.fake.PullRequest(owner, name, out.PRNumber)
	if err != nil {
		e.t.Fatalf("%s: %v", repo, err)
	}
	if pr.Head != out.Branch || pr.Base != "main" || pr.State != "open" {
		e.t.Errorf("%s: pr head %s base %s state %s", repo, pr.Head, pr.Base, pr.State)
	}
	if want := "Bump Go in " + name; pr.Title != want {
		e.t.Errorf("%s: title %q, want %q", repo, pr.Title, want)
	}
	if want := fmt.Sprintf("Campaign bump-go v%d.", version); pr.Body != want {
		e.t.Errorf("%s: body %q, want %q", repo, pr.Body, want)
	}
	if got := slices.Sorted(slices.Values(pr.Labels)); !slices.Equal(got, []string{"campaign", "dependencies"}) {
		e.t.Errorf("%s: labels %v", repo, got)
	}
	if !slices.Equal(pr.RequestedReviewers, []string{"alice"}) {
		e.t.Errorf("%s: reviewers %v", repo, pr.RequestedReviewers)
	}
	head, err := e.fake.BranchSHA(e.ctx, owner, name, out.Branch)
	if err != nil || head != out.HeadSHA || pr.HeadSHA != head {
		e.t.Errorf("%s: branch head %s (%v), output %s, pr %s", repo, head, err, out.HeadSHA, pr.HeadSHA)
	}
	if !e.fake.CommitVerified(head) {
		e.t.Errorf("%s: head commit %s not verified", repo, head)
	}
	commit, _, err := e.rest.Git.GetCommit(e.ctx, owner, name, head)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(commit.Parents) != 1 || commit.Parents[0].GetSHA() != r.BaseSHA {
		e.t.Errorf("%s: head commit is not one commit on the base", repo)
	}
	if got, want := e.tree(repo, head), e.wantTree(repo, r); !maps.Equal(got, want) {
		e.t.Errorf("%s: tree\n got %v\nwant %v", repo, got, want)
	}
}

func TestPublishHundredRepositories(t *testing.T) {
	e := newEnv(t, envOpts{repos: 100})
	for i := range 100 {
		repo := e.repo(i)
		r := result(e.baseSHA(repo), textChange(fmt.Sprintf("module x\n\ngo 1.26 // %d\n", i)))
		out, err := e.publish(e.input(repo, 1, r))
		if err != nil {
			t.Fatalf("%s: %v", repo, err)
		}
		if out.Action != Created {
			t.Errorf("%s: action %s", repo, out.Action)
		}
		e.checkPR(repo, 1, r, out)
		if i == 0 {
			t.Logf("requests of one publish: %v (content units %d)", out.Requests, out.ContentUnits)
		}
	}
	st := e.fake.Stats()
	t.Logf("stats: graphql %v routes %v categories %v", st.GraphQL, st.Routes, st.Categories)
	if n := st.GraphQL["PublishCreate"]; n != 100 {
		t.Errorf("PublishCreate documents: %d, want 100", n)
	}
	if n := st.GraphQL["Lookup"]; n != 100 {
		t.Errorf("Lookup queries: %d, want 100", n)
	}
}

// campaignBranches lists the campaign's branches in repo.
func (e *env) campaignBranches(repo string) []string {
	e.t.Helper()
	owner, name := split(repo)
	refs, _, err := e.rest.Git.ListMatchingRefs(e.ctx, owner, name, &github.ReferenceListOptions{Ref: "heads/campaign/"})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range refs {
		out = append(out, r.GetRef())
	}
	return out
}

func TestPublishFileKinds(t *testing.T) {
	e := newEnv(t, envOpts{repos: 10})
	png := []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 0xff, 0xfe}
	cases := []struct {
		name    string
		changed []runner.FileChange
		deleted []string
		gitData bool
		blobs   int
	}{
		{"text", textChange("module x\n\ngo 1.26\n"), nil, false, 0},
		{"binary", []runner.FileChange{{Path: "logo.png", Mode: runner.ModeFile, Content: png}}, nil, false, 0},
		{"deletion", textChange("module y\n"), []string{"old.txt"}, false, 0},
		{"empty file", []runner.FileChange{{Path: "empty", Mode: runner.ModeFile, Content: nil}}, nil, false, 0},
		{"new executable", []runner.FileChange{{Path: "build.sh", Mode: runner.ModeExecutable, Content: []byte("#!/bin/sh\nmake\n")}}, nil, true, 0},
		{"exec bit only", []runner.FileChange{{Path: "run.sh", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: []byte("#!/bin/sh\necho hi\n")}}, nil, true, 0},
		{"symlink", []runner.FileChange{{Path: "docs/readme-link", Mode: runner.ModeSymlink, Content: []byte("../README.md")}}, nil, true, 0},
		{"binary exec bit only", []runner.FileChange{{Path: "bin/tool", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: []byte(seedTool)}}, nil, true, 0},
		{"binary exec bit and new content", []runner.FileChange{{Path: "bin/tool", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: png}}, nil, true, 1},
		{"git data with binary, empty and deletion", []runner.FileChange{
			{Path: "bin/tool", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: png},
			{Path: "bin/tool2", Mode: runner.ModeExecutable, Content: png},
			{Path: "empty", Mode: runner.ModeFile, Content: nil},
			{Path: "link", Mode: runner.ModeSymlink, Content: []byte("go.mod")},
		}, []string{"old.txt"}, true, 2},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := e.repo(i)
			r := result(e.baseSHA(repo), c.changed, c.deleted...)
			out, err := e.publish(e.input(repo, 1, r))
			if err != nil {
				t.Fatal(err)
			}
			e.checkPR(repo, 1, r, out)
			if got := out.Requests["POST git/trees"] > 0; got != c.gitData {
				t.Errorf("git data path: %v, want %v (requests %v)", got, c.gitData, out.Requests)
			}
			if c.gitData && out.Requests["POST git/blobs"] != c.blobs {
				t.Errorf("blobs: %v, want one per distinct binary content", out.Requests)
			}
		})
	}
}

// Labels that exist in the repository go by id in the Decorate document
// with the reviewers: one request for both.
func TestPublishExistingLabelsInOneDocument(t *testing.T) {
	e := newEnv(t, envOpts{})
	repo := e.repo(0)
	r := result(e.baseSHA(repo), textChange("module x\n\ngo 1.26\n"))
	if _, err := e.publish(e.input(repo, 1, r)); err != nil { // creates the labels
		t.Fatal(err)
	}
	in := e.input(repo, 1, r)
	in.CampaignID = 43
	out, err := e.publish(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"graphql query Lookup": 1, "graphql mutation PublishCreate": 1, "graphql mutation Decorate": 1}
	if !maps.Equal(out.Requests, want) || out.ContentUnits != 5 {
		t.Errorf("requests %v (%d units), want %v (5 units)", out.Requests, out.ContentUnits, want)
	}
	_, n := split(repo)
	pr, _ := e.fake.PullRequest("acme", n, out.PRNumber)
	if got := slices.Sorted(slices.Values(pr.Labels)); !slices.Equal(got, []string{"campaign", "dependencies"}) || len(pr.RequestedReviewers) != 1 {
		t.Errorf("labels %v reviewers %v", got, pr.RequestedReviewers)
	}
}

// Team reviewers go through REST (slugs, no ids), an unknown reviewer is a
// warning, not a failure, and draft is honoured.
func TestPublishTeamsUnknownReviewersDraft(t *testing.T) {
	e := newEnv(t, envOpts{})
	repo := e.repo(0)
	in := e.input(repo, 1, result(e.baseSHA(repo), textChange("x\n")))
	in.Spec.PullRequest.Reviewers = []string{"alice", "nobody-at-all"}
	in.Spec.PullRequest.TeamReviewers = []string{"acme/platform", "other-org/ignored"}
	in.Spec.PullRequest.Draft = true
	out, err := e.publish(in)
	if err != nil {
		t.Fatal(err)
	}
	owner, name := split(repo)
	rv, _, err := e.rest.PullRequests.ListReviewers(e.ctx, owner, name, out.PRNumber, nil)
	if err != nil {
		t.Fatal(err)
	}
	var users, teams []string
	for _, u := range rv.Users {
		users = append(users, u.GetLogin())
	}
	for _, tm := range rv.Teams {
		teams = append(teams, tm.GetSlug())
	}
	if !slices.Equal(users, []string{"alice"}) || !slices.Equal(teams, []string{"platform"}) {
		t.Errorf("reviewers %v teams %v", users, teams)
	}
	if len(out.Warnings) == 0 {
		t.Errorf("no warning for the unknown reviewer")
	}
	pr, _, err := e.rest.PullRequests.Get(e.ctx, owner, name, out.PRNumber)
	if err != nil || !pr.GetDraft() {
		t.Errorf("draft %v (%v)", pr.GetDraft(), err)
	}
	// Nothing left to do on a second publish.
	before := e.writes()
	if out, err := e.publish(in); err != nil || out.Action != Unchanged || e.writes() != before {
		t.Errorf("republish: %v %v %d writes", out.Action, err, e.writes()-before)
	}
}
