package app

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-github/v74/github"

	"github.com/campaignbot/campaignbot/campaigns/publisher"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
)

type debits struct {
	mu sync.Mutex
	n  map[int64]int
}

func (d *debits) Debit(_ context.Context, inst int64, units int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n[inst] += units
	return nil
}

func (d *debits) of(inst int64) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[inst]
}

// Every successful REST write of an installation client counts once against
// the installation's content budget; reads, failed writes, GraphQL and the
// publisher's own (already charged) requests do not.
func TestInstallationWritesAreCounted(t *testing.T) {
	ctx := context.Background()
	fake := githubfake.NewT(t)
	org, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "acme", Repos: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.PushCommit(ctx, "acme", org.Repos[0], "topic", "alice", "topic", map[string]string{"T": "t\n"}); err != nil {
		t.Fatal(err)
	}
	n, err := fake.OpenPullRequest(ctx, "acme", org.Repos[0], githubfake.PullRequestSpec{Title: "t", Head: "topic", Base: "main", User: fake.CreateUser("alice")})
	if err != nil {
		t.Fatal(err)
	}
	cc := fakeClientCreator(t, fake)
	d := &debits{n: map[int64]int{}}
	gh, err := countWrites(cc, d).NewInstallationClient(org.InstallationID)
	if err != nil {
		t.Fatal(err)
	}
	repo := org.Repos[0]
	steps := []struct {
		name string
		do   func() error
		want int // debited so far
	}{
		{"a read", func() error { _, _, err := gh.Repositories.Get(ctx, "acme", repo); return err }, 0},
		{"a comment", func() error {
			_, _, err := gh.Issues.CreateComment(ctx, "acme", repo, n, &github.IssueComment{Body: github.Ptr("hi")})
			return err
		}, 1},
		{"a refused write", func() error {
			_, _, err := gh.Issues.CreateComment(ctx, "acme", "nope", n, &github.IssueComment{Body: github.Ptr("hi")})
			if err == nil {
				t.Error("a comment on a missing repository was accepted")
			}
			return nil
		}, 1},
		{"the publisher's write", func() error {
			_, _, err := gh.Issues.CreateComment(publisher.MarkCharged(ctx), "acme", repo, n, &github.IssueComment{Body: github.Ptr("from the publisher")})
			return err
		}, 1},
		{"a second comment", func() error {
			_, _, err := gh.Issues.CreateComment(ctx, "acme", repo, n, &github.IssueComment{Body: github.Ptr("again")})
			return err
		}, 2},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := d.of(org.InstallationID); got != s.want {
			t.Fatalf("after %s: %d debited, want %d", s.name, got, s.want)
		}
	}
}
