package publisher

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/runner"
)

// checkPR verifies a published pull request against GitHub's state.
func (e *env) checkPR(repo string, version int, r *runner.Result, out Output) {
	e.t.Helper()
	owner, name := split(repo)
	if want := spec.BranchName(42, version, repo); out.Branch != want {
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
