package publisher

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner"
)

// A publish cut at every write step and retried ends with exactly one
// branch and one pull request, on both paths.
func TestPublishCrashPoints(t *testing.T) {
	e := newEnv(t, envOpts{repos: 12})
	exec := []runner.FileChange{{Path: "run.sh", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: []byte{0, 1, 2}}}
	cases := []struct {
		cut     string
		changed []runner.FileChange
	}{
		{"createRef", nil}, // before any write
		{"createCommitOnBranch", nil},
		{"createPullRequest", nil},
		{"POST issues/labels", nil},
		{"requestReviews", nil},
		{"POST git/blobs", exec},
		{"POST git/trees", exec},
		{"POST git/commits", exec},
		{"POST git/refs", exec},
		{"createPullRequest", exec},
		{"requestReviews", exec},
	}
	for i, c := range cases {
		name := c.cut
		if c.changed != nil {
			name = "git data " + name
		}
		t.Run(name, func(t *testing.T) {
			repo := e.repo(i)
			changed := c.changed
			if changed == nil {
				changed = textChange("module x\n\ngo 1.26\n")
			}
			r := result(e.baseSHA(repo), changed, "old.txt")
			in := e.input(repo, 1, r)
			crashing := New(e.rdb, Config{Clock: e.clock})
			crashing.cut = func(step string) bool { return step == c.cut }
			if _, err := crashing.Publish(e.ctx, e.gh, in); !errors.Is(err, errCrash) {
				t.Fatalf("cut at %s: %v, want the simulated crash", c.cut, err)
			}
			out, err := e.publish(in)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			e.checkPR(repo, 1, r, out)
			_, n := split(repo)
			if prs := e.fake.PullRequests("acme", n); len(prs) != 1 {
				t.Errorf("pull requests: %v, want exactly one", prs)
			}
			if bs := e.campaignBranches(repo); len(bs) != 1 {
				t.Errorf("branches: %v, want exactly one", bs)
			}
			// And a third publish finds nothing to do.
			before := e.writes()
			if out, err := e.publish(in); err != nil || out.Action != Unchanged || e.writes() != before {
				t.Errorf("third publish: %v %v, %d writes", out.Action, err, e.writes()-before)
			}
		})
	}
}

func TestPublishUnchangedMakesNoWrites(t *testing.T) {
	e := newEnv(t, envOpts{})
	repo := e.repo(0)
	r := result(e.baseSHA(repo), textChange("module x\n\ngo 1.26\n"))
	first, err := e.publish(e.input(repo, 1, r))
	if err != nil {
		t.Fatal(err)
	}
	for _, existing := range []*ExistingPR{nil, {Number: first.PRNumber, NodeID: first.PRNodeID, Branch: first.Branch}} {
		e.fake.ResetStats()
		in := e.input(repo, 1, r)
		in.ExistingPR = existing
		out, err := e.publish(in)
		if err != nil {
			t.Fatal(err)
		}
		st := e.fake.Stats()
		if out.Action != Unchanged || st.Categories["content-creating"] != 0 || st.Categories["graphql"] != 1 {
			t.Errorf("republish: action %s, stats %v %v", out.Action, st.Categories, st.Routes)
		}
		if out.PRNumber != first.PRNumber || out.HeadSHA != first.HeadSHA || out.Branch != first.Branch {
			t.Errorf("republish output %+v, first %+v", out, first)
		}
	}
}

// The same patch made again on a base that moved (a rebase) rewrites the
// branch as the new base + one commit; published again it writes nothing,
// and a result made on the old base never moves the branch back.
func TestPublishSamePatchOnMovedBaseRebases(t *testing.T) {
	e := newEnv(t, envOpts{})
	repo := e.repo(0)
	owner, name := split(repo)
	old := e.baseSHA(repo)
	r1 := result(old, textChange("module x\n\ngo 1.26\n"))
	first, err := e.publish(e.input(repo, 1, r1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.PushCommit(e.ctx, owner, name, "main", "alice", "unrelated", map[string]string{"ONCALL.md": "rota\n"}); err != nil {
		t.Fatal(err)
	}
	r2 := result(e.baseSHA(repo), textChange("module x\n\ngo 1.26\n"))
	if r2.PatchHash != r1.PatchHash {
		t.Fatal("the test needs the same patch on both bases")
	}
	in := e.input(repo, 1, r2)
	in.ExistingPR = &ExistingPR{Number: first.PRNumber, NodeID: first.PRNodeID, Branch: first.Branch}
	e.fake.ResetStats()
	out, err := e.publish(in)
	if err != nil {
		t.Fatal(err)
	}
	// Git Data: tree, commit, forced ref update.
	if st := e.fake.Stats(); out.Action != Updated || out.HeadSHA == first.HeadSHA || st.Categories["content-creating"] != 3 {
		t.Errorf("rebase: action %s head %s (was %s), stats %v", out.Action, out.HeadSHA, first.HeadSHA, st.Categories)
	}
	e.checkPR(repo, 1, r2, out) // one commit on the new base, the patch's tree
	if got, err := e.fake.FileContent(e.ctx, owner, name, out.Branch, "ONCALL.md"); err != nil || got != "rota\n" {
		t.Errorf("the new base's file on the branch: %q %v", got, err)
	}
	for _, r := range []*runner.Result{r2, r1} {
		e.fake.ResetStats()
		again, err := e.publish(e.input(repo, 1, r))
		if err != nil {
			t.Fatal(err)
		}
		if st := e.fake.Stats(); again.Action != Unchanged || again.HeadSHA != out.HeadSHA || st.Categories["content-creating"] != 0 {
			t.Errorf("publish on base %s after the rebase: action %s head %s, stats %v", r.BaseSHA[:7], again.Action, again.HeadSHA, st.Categories)
		}
	}
}

// A new spec version updates the pull request in place: same branch (the
// one version 1 opened), one new commit on the base, new title and body.
func TestPublishNewVersionUpdatesInPlace(t *testing.T) {
	e := newEnv(t, envOpts{repos: 2})
	for i, known := range []bool{false, true} {
		repo := e.repo(i)
		base := e.baseSHA(repo)
		r1 := result(base, textChange("module x\n\ngo 1.26\n"), "old.txt")
		first, err := e.publish(e.input(repo, 1, r1))
		if err != nil {
			t.Fatal(err)
		}
		// Version 2: a different patch (old.txt kept, another file) and a
		// different body (the template shows the version).
		r2 := result(base, append(textChange("module x\n\ngo 1.26.1\n"), runner.FileChange{Path: "new.txt", Mode: runner.ModeFile, Content: []byte("n\n")}))
		in := e.input(repo, 2, r2)
		if known {
			in.ExistingPR = &ExistingPR{Number: first.PRNumber, NodeID: first.PRNodeID, Branch: first.Branch}
		}
		out, err := e.publish(in)
		if err != nil {
			t.Fatal(err)
		}
		if out.Action != Updated || out.PRNumber != first.PRNumber {
			t.Errorf("known=%v: action %s pr %d, want updated #%d", known, out.Action, out.PRNumber, first.PRNumber)
		}
		e.checkPRv(repo, 1, 2, r2, out)
		_, n := split(repo)
		if prs := e.fake.PullRequests("acme", n); len(prs) != 1 {
			t.Errorf("pull requests: %v", prs)
		}
		if bs := e.campaignBranches(repo); !slices.Equal(bs, []string{"refs/heads/" + spec.BranchName(42, 1, repo)}) {
			t.Errorf("branches: %v", bs)
		}
		// Version 3 with the same patch and template changes nothing but
		// the body (it names the version): only updatePullRequest.
		e.fake.ResetStats()
		in.SpecVersion = 3
		if out, err = e.publish(in); err != nil {
			t.Fatal(err)
		}
		if st := e.fake.Stats(); st.GraphQL["PublishUpdate"] != 1 || st.Categories["content-creating"] != 1 {
			t.Errorf("body-only update: %v %v", st.GraphQL, st.Categories)
		}
		e.checkPRv(repo, 1, 3, r2, out)
	}
}

// raceClients lets a competing worker publish the same change just before
// this worker's first write, so this worker's createRef and
// createPullRequest fail with "already exists" and must adopt.
type raceClients struct {
	Clients
	once func()
}

func (c *raceClients) GraphQL(ctx context.Context, op, q string, vars map[string]any) (*GraphQLResponse, error) {
	if op == "PublishCreate" && c.once != nil {
		f := c.once
		c.once = nil
		f()
	}
	return c.Clients.GraphQL(ctx, op, q, vars)
}

func TestPublishAdoptsExistingPullRequest(t *testing.T) {
	e := newEnv(t, envOpts{})
	repo := e.repo(0)
	r := result(e.baseSHA(repo), textChange("module x\n\ngo 1.26\n"))
	in := e.input(repo, 1, r)
	var theirs Output
	gh := &raceClients{Clients: e.gh, once: func() {
		var err error
		if theirs, err = New(e.rdb, Config{Clock: e.clock}).Publish(e.ctx, e.gh, in); err != nil {
			t.Errorf("competitor: %v", err)
		}
	}}
	out, err := e.pub.Publish(e.ctx, gh, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.PRNumber != theirs.PRNumber || out.PRNumber == 0 {
		t.Errorf("adopted #%d, competitor made #%d", out.PRNumber, theirs.PRNumber)
	}
	if out.Requests["graphql query Lookup"] != 2 {
		t.Errorf("requests %v: want a second Lookup after the conflict", out.Requests)
	}
	_, n := split(repo)
	if prs := e.fake.PullRequests("acme", n); len(prs) != 1 {
		t.Errorf("pull requests: %v", prs)
	}
	e.checkPR(repo, 1, r, out)
}

func TestPublishPermanentErrors(t *testing.T) {
	e := newEnv(t, envOpts{repos: 4})
	cases := []struct {
		name   string
		setup  func(in *Input)
		reason string
	}{
		{"archived", func(in *Input) {
			_, n := split(in.Repository)
			_ = e.fake.SetRepo("acme", n, func(r *githubfake.Repo) { r.Archived = true })
		}, ReasonArchived},
		{"base branch gone", func(in *Input) { in.DefaultBranch = "gone" }, ReasonBaseBranchMissing},
		{"base commit unknown", func(in *Input) { in.Result.BaseSHA = "0123456789012345678901234567890123456789" }, ReasonBaseCommitMissing},
		{"no changes", func(in *Input) { in.Result = &runner.Result{NoChanges: true} }, ReasonNoChanges},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := e.repo(i)
			in := e.input(repo, 1, result(e.baseSHA(repo), textChange("x\n")))
			c.setup(&in)
			before := e.writes()
			_, err := e.publish(in)
			var perm *Permanent
			if !errors.As(err, &perm) || !errors.Is(err, &Permanent{Reason: c.reason}) {
				t.Fatalf("err %v, want permanent %q", err, c.reason)
			}
			if e.writes() != before {
				t.Errorf("a permanent failure wrote %d times", e.writes()-before)
			}
		})
	}
}

// A pull request's lifecycle outside campaignbot: a person's commit on the
// branch stops automation (humanEdits: stop) or is overwritten
// (overwrite); a closed or merged pull request is not reopened.
func TestPublishRespectsPeople(t *testing.T) {
	e := newEnv(t, envOpts{repos: 4})
	open := func(i int) (Input, Output) {
		repo := e.repo(i)
		in := e.input(repo, 1, result(e.baseSHA(repo), textChange("v1\n")))
		out, err := e.publish(in)
		if err != nil {
			t.Fatal(err)
		}
		return in, out
	}
	newPatch := func(in Input) Input {
		in.Result = result(in.Result.BaseSHA, textChange("v2\n"))
		return in
	}
	t.Run("human edit stops", func(t *testing.T) {
		in, out := open(0)
		_, n := split(in.Repository)
		if _, err := e.fake.PushCommit(e.ctx, "acme", n, out.Branch, "alice", "fix by hand", map[string]string{"go.mod": "hand\n"}); err != nil {
			t.Fatal(err)
		}
		before := e.writes()
		_, err := e.publish(newPatch(in))
		if !errors.Is(err, &Permanent{Reason: ReasonHumanEdited}) || e.writes() != before {
			t.Errorf("err %v, %d writes; want human-edited and no write", err, e.writes()-before)
		}
	})
	t.Run("human edit overwritten", func(t *testing.T) {
		in, out := open(1)
		_, n := split(in.Repository)
		if _, err := e.fake.PushCommit(e.ctx, "acme", n, out.Branch, "alice", "fix by hand", map[string]string{"go.mod": "hand\n"}); err != nil {
			t.Fatal(err)
		}
		in = newPatch(in)
		in.Spec.Drift.HumanEdits = spec.HumanEditsOverwrite
		got, err := e.publish(in)
		if err != nil {
			t.Fatal(err)
		}
		e.checkPR(in.Repository, 1, in.Result, got)
	})
	t.Run("closed", func(t *testing.T) {
		in, out := open(2)
		_, n := split(in.Repository)
		if err := e.fake.ClosePullRequest(e.ctx, "acme", n, out.PRNumber, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.publish(newPatch(in)); !errors.Is(err, &Permanent{Reason: ReasonPRClosed}) {
			t.Errorf("err %v, want closed", err)
		}
	})
	t.Run("merged", func(t *testing.T) {
		in, out := open(3)
		_, n := split(in.Repository)
		if _, err := e.fake.MergePullRequest(e.ctx, "acme", n, out.PRNumber, "alice", "squash"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.publish(newPatch(in)); !errors.Is(err, &Permanent{Reason: ReasonPRMerged}) {
			t.Errorf("err %v, want merged", err)
		}
	})
}

// lostAnswer forwards a document to GitHub and then loses the answer, as
// when a connection drops after GitHub acted.
type lostAnswer struct {
	Clients
	op   string
	lost int
}

func (c *lostAnswer) GraphQL(ctx context.Context, op, q string, vars map[string]any) (*GraphQLResponse, error) {
	resp, err := c.Clients.GraphQL(ctx, op, q, vars)
	if op == c.op && c.lost == 0 {
		c.lost++
		return nil, &transient{op: op, err: errors.New("connection reset by peer")}
	}
	return resp, err
}

func TestPublishLostAnswerIsAdopted(t *testing.T) {
	e := newEnv(t, envOpts{repos: 2})
	for i, op := range []string{"PublishCreate", "Decorate"} {
		t.Run(op, func(t *testing.T) {
			repo := e.repo(i)
			r := result(e.baseSHA(repo), textChange("x\n"))
			out, err := e.pub.Publish(e.ctx, &lostAnswer{Clients: e.gh, op: op}, e.input(repo, 1, r))
			if err != nil {
				t.Fatal(err)
			}
			if out.Action != Created || out.Requests["graphql query Lookup"] != 2 || out.Requests["graphql mutation "+op] != 1 {
				t.Errorf("action %s requests %v: want one %s and a second Lookup that adopts", out.Action, out.Requests, op)
			}
			_, n := split(repo)
			if prs := e.fake.PullRequests("acme", n); len(prs) != 1 {
				t.Errorf("pull requests %v", prs)
			}
			e.checkPR(repo, 1, r, out)
		})
	}
}
