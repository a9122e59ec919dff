package reconciler_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v74/github"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/store"
)

// 100 pull requests are merged, closed, reviewed, commented on and given
// CI results by people while 30% of webhooks are lost; webhooks get the
// database partly right, one sweep gets it all right — under 502s too —
// and a replayed, older delivery changes nothing.
func TestSweepRestoresTruthAfterLostWebhooks(t *testing.T) {
	const n = 100
	w := newWorld(t, options{repos: n, direct: true})
	gh := w.InstallationClient(w.inst)
	opened := map[string]string{} // repo -> delivery id of its "opened" event
	for _, d := range w.Fake.Deliveries() {
		if d.Event == "pull_request" && d.Action == "opened" {
			for _, r := range w.repos {
				if strings.Contains(string(d.Payload), `"full_name":"`+r+`"`) {
					opened[r] = d.ID
				}
			}
		}
	}

	w.Fake.DropWebhooks(0.3)
	want := map[string]string{}
	wantCI := map[string]string{}
	wantReview := map[string]string{}
	for i, cs := range w.changesets() {
		owner, name := split(cs.Task.Repository)
		num := cs.Task.PRNumber
		switch i % 5 {
		case 0:
			if _, err := w.Fake.MergePullRequest(w.ctx, owner, name, num, "alice", "squash"); err != nil {
				t.Fatal(err)
			}
			want[cs.Task.Repository] = "merged"
		case 1:
			if err := w.Fake.ClosePullRequest(w.ctx, owner, name, num, "bob"); err != nil {
				t.Fatal(err)
			}
			want[cs.Task.Repository] = "closed"
		case 2:
			if _, err := w.Fake.SubmitReview(w.ctx, owner, name, num, "alice", "APPROVED", "lgtm"); err != nil {
				t.Fatal(err)
			}
			want[cs.Task.Repository], wantReview[cs.Task.Repository] = store.TaskPublished, "approved"
		case 3:
			state, ci := "success", store.CIPassing
			if i%2 == 1 {
				state, ci = "failure", store.CIFailing
			}
			if _, _, err := gh.Repositories.CreateStatus(w.ctx, owner, name, cs.Task.HeadSHA, &github.RepoStatus{State: github.Ptr(state), Context: github.Ptr("ci/test")}); err != nil {
				t.Fatal(err)
			}
			want[cs.Task.Repository], wantCI[cs.Task.Repository] = store.TaskPublished, ci
		default:
			if _, err := w.Fake.Comment(w.ctx, owner, name, num, "bob", "what does this change?"); err != nil {
				t.Fatal(err)
			}
			want[cs.Task.Repository] = store.TaskPublished
		}
	}
	w.Settle()
	dropped := len(w.Fake.FailedDeliveries())
	if dropped < 10 {
		t.Fatalf("only %d deliveries dropped: the test does not lose webhooks", dropped)
	}
	wrong := 0
	for _, cs := range w.changesets() {
		if cs.Task.State != want[cs.Task.Repository] || cs.CIState != wantCI[cs.Task.Repository] {
			wrong++
		}
	}
	if wrong == 0 {
		t.Fatal("webhooks alone got every changeset right: nothing was lost")
	}
	t.Logf("%d deliveries dropped; %d changesets wrong before the sweep", dropped, wrong)

	// A sweep while GitHub answers half the requests with 502.
	w.Fake.ResetStats()
	remove := w.Fake.InjectFault(githubfake.Fault{Route: "POST /graphql", Rate: 0.5, Status: 502})
	open := w.states()[store.TaskPublished]
	res := w.sweep()
	remove()
	if res.Checked != open || res.Failed != 0 {
		t.Fatalf("sweep = %+v, %d changesets were open", res, open)
	}
	if calls := w.Fake.Stats().Routes["POST /graphql"]; calls > 20 {
		t.Fatalf("%d GraphQL requests to sweep %d pull requests", calls, n)
	}
	check := func(when string) {
		t.Helper()
		for _, cs := range w.changesets() {
			r := cs.Task.Repository
			if cs.Task.State != want[r] || cs.Task.State != w.truth(cs) {
				t.Fatalf("%s: %s is %s, want %s (GitHub: %s)", when, r, cs.Task.State, want[r], w.truth(cs))
			}
			if cs.CIState != wantCI[r] || cs.ReviewDecision != wantReview[r] {
				t.Fatalf("%s: %s ci=%q review=%q, want ci=%q review=%q", when, r, cs.CIState, cs.ReviewDecision, wantCI[r], wantReview[r])
			}
		}
	}
	check("after one sweep")

	// Out of order and duplicated: the "opened" delivery of a merged pull
	// request arrives again, late; the merged state stays.
	for _, cs := range w.changesets() {
		if cs.Task.State == "merged" {
			if _, err := w.Fake.Redeliver(w.ctx, opened[cs.Task.Repository]); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	w.Fake.DropWebhooks(0)
	if _, err := w.Fake.RedeliverFailed(w.ctx); err != nil { // GitHub's redelivery of what was lost: duplicates of applied states
		t.Fatal(err)
	}
	w.Settle()
	check("after late and duplicate deliveries")
}

// A person's commit on a campaign branch stops automation for that pull
// request (humanEdits: stop): one comment, never touched again, while the
// other pull request is still rebased when the base moves.
func TestHumanCommitStopsAutomation(t *testing.T) {
	w := newWorld(t, options{repos: 2})
	edited, other := w.changeset(w.repos[0]), w.changeset(w.repos[1])
	owner, name := split(edited.Task.Repository)
	if _, err := w.Fake.PushCommit(w.ctx, owner, name, edited.Task.Branch, "alice", "fix it my way", map[string]string{"HELLO": "hello\n"}); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	w.waitFor("the human edit to be recorded", func() bool { return w.changeset(edited.Task.Repository).HumanEditedSHA != "" })
	comments := func() int {
		pr, err := w.Fake.PullRequest(owner, name, edited.Task.PRNumber)
		if err != nil {
			t.Fatal(err)
		}
		c := 0
		for _, body := range pr.Comments {
			if strings.Contains(body, "humanEdits: stop") {
				c++
			}
		}
		return c
	}
	if c := comments(); c != 1 {
		t.Fatalf("%d comments about the human edit", c)
	}
	// Another person's commit, a sweep, and base pushes: still one comment,
	// no re-execution of the edited pull request, the other one rebased once.
	if _, err := w.Fake.PushCommit(w.ctx, owner, name, edited.Task.Branch, "bob", "more", map[string]string{"MORE": "x\n"}); err != nil {
		t.Fatal(err)
	}
	w.sweep()
	for _, repo := range w.repos {
		o, n := split(repo)
		if _, err := w.Fake.PushCommit(w.ctx, o, n, "main", "alice", "unrelated", map[string]string{"OTHER": "1\n"}); err != nil {
			t.Fatal(err)
		}
	}
	w.Settle()
	w.waitFor("the other pull request to be rebased", func() bool {
		return w.exec.executions(other.Task.Repository) == 2 && w.changeset(other.Task.Repository).Task.State == store.TaskPublished
	})
	time.Sleep(3 * 300 * time.Millisecond) // past the debounce: a late re-execution would show now
	w.Settle()
	if n := w.exec.executions(edited.Task.Repository); n != 1 {
		t.Fatalf("the human-edited pull request was executed %d times", n)
	}
	if c := comments(); c != 1 {
		t.Fatalf("%d comments about the human edit", c)
	}
	cs := w.changeset(edited.Task.Repository)
	if cs.Task.State != store.TaskPublished || cs.HumanEditedSHA == "" {
		t.Fatalf("edited changeset = %+v", cs)
	}
	// The audit log says why: automation stopped once on the edited pull
	// request, the other one rebased once.
	log, err := w.Store.AuditLog(w.ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range log {
		if e.Actor == "campaignbot" && e.Outcome == "accepted" {
			got[e.Action+" "+e.Target]++
		}
	}
	editedTarget := fmt.Sprintf("%s#%d", edited.Task.Repository, edited.Task.PRNumber)
	otherTarget := fmt.Sprintf("%s#%d", other.Task.Repository, other.Task.PRNumber)
	if got["drift.human_edit "+editedTarget] != 1 || got["drift.rebase "+otherTarget] != 1 || len(got) != 2 {
		t.Fatalf("audit log of the reconciler = %v, want one drift.human_edit of %s and one drift.rebase of %s", got, editedTarget, otherTarget)
	}
	// A person merging it is still tracked.
	if _, err := w.Fake.MergePullRequest(w.ctx, owner, name, edited.Task.PRNumber, "alice", "merge"); err != nil {
		t.Fatal(err)
	}
	w.Settle()
	w.waitFor("the merge to be recorded", func() bool { return w.changeset(edited.Task.Repository).Task.State == "merged" })
}

// Base-branch pushes cause at most one re-execution per pull request per
// base change, as the spec's drift.baseChanged says.
func TestBasePushesReexecuteOncePerPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy string
		// executions after the pushes of the conflicting and the quiet repository
		conflicting, behind int
	}{
		{spec.BaseChangedRebase, 2, 2},
		{spec.BaseChangedRecreate, 2, 1},
		{spec.BaseChangedIgnore, 1, 1},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			w := newWorld(t, options{repos: 3, baseChanged: tc.policy, debounce: 2 * time.Second})
			conflicting, behind, untouched := w.repos[0], w.repos[1], w.repos[2]
			// Ten quick pushes each: one changes HELLO (a conflict), one an unrelated file.
			w.burst(func() {
				for i := range 10 {
					o, n := split(conflicting)
					if _, err := w.Fake.PushCommit(w.ctx, o, n, "main", "alice", "conflict", map[string]string{"HELLO": strings.Repeat("x", i+1) + "\n"}); err != nil {
						t.Fatal(err)
					}
					o, n = split(behind)
					if _, err := w.Fake.PushCommit(w.ctx, o, n, "main", "alice", "unrelated", map[string]string{"OTHER": strings.Repeat("y", i+1) + "\n"}); err != nil {
						t.Fatal(err)
					}
				}
			})
			w.Settle()
			w.waitFor("drift checks", func() bool {
				for _, r := range []string{conflicting, behind} {
					cs := w.changeset(r)
					if cs.DriftHandledSHA != cs.BaseHeadSHA && tc.policy != spec.BaseChangedIgnore || cs.Task.State != store.TaskPublished {
						return false
					}
				}
				return w.exec.executions(conflicting) == tc.conflicting && w.exec.executions(behind) == tc.behind
			})
			time.Sleep(3 * time.Second) // past the debounce: a second re-execution would have started by now
			w.Settle()
			w.waitFor("settled tasks", func() bool { return w.states()[store.TaskPublished] == 3 })
			if got := w.exec.executions(conflicting); got != tc.conflicting {
				t.Fatalf("conflicting pull request executed %d times, want %d", got, tc.conflicting)
			}
			if got := w.exec.executions(behind); got != tc.behind {
				t.Fatalf("behind pull request executed %d times, want %d", got, tc.behind)
			}
			if got := w.exec.executions(untouched); got != 1 {
				t.Fatalf("untouched pull request executed %d times", got)
			}
			if tc.conflicting == 2 {
				// The re-execution rewrote the branch on the new base: no conflict left.
				cs := w.changeset(conflicting)
				o, n := split(conflicting)
				head, err := w.Fake.BranchSHA(w.ctx, o, n, "main")
				if err != nil {
					t.Fatal(err)
				}
				if cs.Task.BaseSHA != head || cs.LastPushedSHA == "" || cs.LastPushedSHA != cs.Task.HeadSHA {
					t.Fatalf("after the rebase: base %s (main %s), head %s, last pushed %s", cs.Task.BaseSHA, head, cs.Task.HeadSHA, cs.LastPushedSHA)
				}
				pr, err := w.Fake.PullRequest(o, n, cs.Task.PRNumber)
				if err != nil || pr.HeadSHA != cs.Task.HeadSHA {
					t.Fatalf("GitHub head %s, recorded %s (%v)", pr.HeadSHA, cs.Task.HeadSHA, err)
				}
			}
		})
	}
}
