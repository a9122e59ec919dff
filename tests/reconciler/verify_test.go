package reconciler_test

import (
	"strings"
	"testing"

	"github.com/google/go-github/v74/github"

	"github.com/campaignbot/campaignbot/store"
)

// When every pull request of a run is final, verification runs the steps
// on each default branch: a merged change and one a person landed count as
// landed, a pull request closed unmerged does not; the dashboard's
// headline is the landed count.
func TestVerificationCountsWhereTheChangeLanded(t *testing.T) {
	w := newWorld(t, options{repos: 3, direct: true})
	merged, closed, byPerson := w.changeset(w.repos[0]), w.changeset(w.repos[1]), w.changeset(w.repos[2])
	o, n := split(merged.Task.Repository)
	if _, err := w.Fake.MergePullRequest(w.ctx, o, n, merged.Task.PRNumber, "alice", "squash"); err != nil {
		t.Fatal(err)
	}
	o, n = split(closed.Task.Repository)
	if err := w.Fake.ClosePullRequest(w.ctx, o, n, closed.Task.PRNumber, "bob"); err != nil {
		t.Fatal(err)
	}
	o, n = split(byPerson.Task.Repository)
	if _, err := w.Fake.PushCommit(w.ctx, o, n, "main", "alice", "did it myself", map[string]string{"HELLO": "hi\n"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Fake.ClosePullRequest(w.ctx, o, n, byPerson.Task.PRNumber, "alice"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	w.waitFor("verification", func() bool {
		for _, cs := range w.changesets() {
			if cs.Landed == nil {
				return false
			}
		}
		return true
	})
	want := map[string]bool{merged.Task.Repository: true, closed.Task.Repository: false, byPerson.Task.Repository: true}
	for _, cs := range w.changesets() {
		if *cs.Landed != want[cs.Task.Repository] {
			t.Fatalf("%s landed=%v (%s), want %v", cs.Task.Repository, *cs.Landed, cs.VerifyNote, want[cs.Task.Repository])
		}
	}
	if cs := w.changeset(closed.Task.Repository); cs.VerifyNote != "pull request closed unmerged" {
		t.Fatalf("note = %q", cs.VerifyNote)
	}
	w.waitFor("the landed headline", func() bool {
		for _, c := range w.Fake.CheckRuns("octo-org", "platform") {
			if c.Name == "campaign: touch" && strings.Contains(c.Title, "landed in 2/3 repositories") {
				return strings.Contains(c.Summary, "not landed: pull request closed unmerged")
			}
		}
		return false
	})
}

// A canary wave whose CI fails pauses the run and says why.
func TestFailingCanaryPausesTheRun(t *testing.T) {
	w := newWorld(t, options{repos: 3, direct: true, waves: []int{0, 1, 1}})
	canary := w.changeset(w.repos[0])
	gh := w.InstallationClient(w.inst)
	o, n := split(canary.Task.Repository)
	if _, _, err := gh.Repositories.CreateStatus(w.ctx, o, n, canary.Task.HeadSHA, &github.RepoStatus{State: github.Ptr("failure"), Context: github.Ptr("ci/test")}); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	w.waitFor("the run to pause", func() bool {
		v, err := w.Store.LoadRunView(w.ctx, w.run.ID)
		return err == nil && v.Run.State == store.RunPaused && strings.Contains(v.PausedReason, "canary wave CI failing") &&
			strings.Contains(v.PausedReason, canary.Task.Repository)
	})
}
