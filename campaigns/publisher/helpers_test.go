package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/store/storetest"
	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/redis/go-redis/v9"
)

var epoch = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

// seedTool is a binary file every test repository starts with.
const seedTool = "\x7fELF\x00\x01\x02\xff"

// env is a fake GitHub with one organisation, a virtual clock shared by
// the fake and the publisher, and a private Redis database.
type env struct {
	t     *testing.T
	ctx   context.Context
	fake  *githubfake.Fake
	clock *githubfake.VirtualClock
	org   *githubfake.Org
	rdb   *redis.Client
	pub   *Publisher
	gh    Clients
	rest  *github.Client
}

type envOpts struct {
	repos  int
	limits *githubfake.Limits
	cfg    Config
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	clock := githubfake.NewVirtualClock(epoch)
	opts := []githubfake.Option{githubfake.WithClock(clock)}
	if o.limits != nil {
		opts = append(opts, githubfake.WithLimits(*o.limits))
	}
	fake := githubfake.NewT(t, opts...)
	if o.repos == 0 {
		o.repos = 1
	}
	org, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "acme", Repos: o.repos,
		Files:   map[string]string{"go.mod": "module x\n\ngo 1.25\n", "README.md": "hello\n", "old.txt": "remove me\n", "run.sh": "#!/bin/sh\necho hi\n", "bin/tool": seedTool},
		Members: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.CreateTeam("acme", "platform", "alice"); err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(storetest.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	cfg := githubapp.Config{V3APIURL: fake.V3URL(), V4APIURL: fake.V4URL()}
	cfg.App.IntegrationID = fake.AppID()
	cfg.App.PrivateKey = string(fake.PrivateKeyPEM())
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := cc.NewInstallationClient(org.InstallationID)
	if err != nil {
		t.Fatal(err)
	}
	pc := o.cfg
	pc.Clock = clock
	if pc.BackoffBase == 0 {
		pc.BackoffBase = time.Millisecond
	}
	return &env{t: t, ctx: ctx, fake: fake, clock: clock, org: org, rdb: rdb, pub: New(rdb, pc),
		gh: NewClients(rest, fake.V4URL()), rest: rest}
}

func (e *env) repo(i int) string { return "acme/" + e.org.Repos[i] }

func (e *env) baseSHA(repo string) string {
	e.t.Helper()
	_, name := split(repo)
	sha, err := e.fake.BranchSHA(e.ctx, "acme", name, "main")
	if err != nil {
		e.t.Fatal(err)
	}
	return sha
}

func split(repo string) (string, string) {
	for i := range repo {
		if repo[i] == '/' {
			return repo[:i], repo[i+1:]
		}
	}
	return "", repo
}

// testSpec is a spec with labels and reviewers.
func testSpec() *spec.Spec {
	return &spec.Spec{Version: 1, Name: "bump-go",
		Description: "Bump Go.",
		PullRequest: spec.PullRequest{
			Title:     "Bump Go in {{ .Repository.Name }}",
			Body:      "Campaign {{ .Campaign.Name }} v{{ .Campaign.SpecVersion }}.",
			Labels:    []string{"campaign", "dependencies"},
			Reviewers: []string{"alice"},
		},
		Rollout: spec.Rollout{MaxOpenPRs: 10000, PRsPerHour: 5000},
	}
}

// result builds a runner.Result with a patch hash over its content.
func result(base string, changed []runner.FileChange, deleted ...string) *runner.Result {
	sort.Slice(changed, func(i, j int) bool { return changed[i].Path < changed[j].Path })
	h := sha256.New()
	for _, c := range changed {
		fmt.Fprintf(h, "%s\x00%s\x00%x\x00", c.Path, c.Mode, sha256.Sum256(c.Content))
	}
	for _, d := range deleted {
		fmt.Fprintf(h, "-%s\x00", d)
	}
	return &runner.Result{Changed: changed, Deleted: deleted, BaseSHA: base, PatchHash: hex.EncodeToString(h.Sum(nil))}
}

func textChange(content string) []runner.FileChange {
	return []runner.FileChange{{Path: "go.mod", Mode: runner.ModeFile, OldMode: runner.ModeFile, Content: []byte(content)}}
}

func (e *env) input(repo string, version int, r *runner.Result) Input {
	return Input{InstallationID: e.org.InstallationID, CampaignID: 42, CampaignName: "bump-go", SpecVersion: version,
		Spec: testSpec(), Repository: repo, DefaultBranch: "main", Result: r}
}

// publish retries a throttled publish at the time it names, moving the
// virtual clock there, as the task queue would.
func (e *env) publish(in Input) (Output, error) {
	for i := 0; i < 100; i++ {
		out, err := e.pub.Publish(e.ctx, e.gh, in)
		var th *Throttled
		if !errors.As(err, &th) {
			return out, err
		}
		if th.Until.After(e.clock.Now()) {
			e.clock.Set(th.Until)
		}
	}
	e.t.Fatalf("publish %s: still throttled after 100 tries", in.Repository)
	return Output{}, nil
}

// writes is the number of content-creating requests the fake counted.
func (e *env) writes() int { return e.fake.Stats().Categories["content-creating"] }

// tree returns path -> (mode, content) at ref.
func (e *env) tree(repo, ref string) map[string][2]string {
	e.t.Helper()
	owner, name := split(repo)
	tr, _, err := e.rest.Git.GetTree(e.ctx, owner, name, ref, true)
	if err != nil {
		e.t.Fatalf("get tree %s@%s: %v", repo, ref, err)
	}
	out := map[string][2]string{}
	for _, en := range tr.Entries {
		if en.GetType() != "blob" {
			continue
		}
		c, err := e.fake.FileContent(e.ctx, owner, name, ref, en.GetPath())
		if err != nil {
			e.t.Fatal(err)
		}
		out[en.GetPath()] = [2]string{en.GetMode(), c}
	}
	return out
}

// wantTree is the base tree with the change applied.
func (e *env) wantTree(repo string, r *runner.Result) map[string][2]string {
	want := e.tree(repo, r.BaseSHA)
	for _, d := range r.Deleted {
		delete(want, d)
	}
	for _, c := range r.Changed {
		want[c.Path] = [2]string{string(c.Mode), string(c.Content)}
	}
	return want
}
