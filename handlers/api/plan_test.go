package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/selection"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/handlers/events"
	"github.com/campaignbot/campaignbot/store"
)

// storeFinder finds the control repository's installation among the
// synced installation repositories, as the server does first.
type storeFinder struct {
	st   *store.Store
	repo string
}

func (f storeFinder) ControlInstallation(ctx context.Context) (int64, error) {
	id, ok, err := f.st.InstallationForRepo(ctx, f.repo)
	if err == nil && !ok {
		err = fmt.Errorf("%w (%s)", api.ErrNoInstallation, f.repo)
	}
	return id, err
}

func planSpec(name, targets string) string {
	return fmt.Sprintf(`version: 1
name: %s
description: plan preview test
targets:
%s
steps:
  - name: touch
    image: alpine:3.20
    run: echo hi > hello.txt
pullRequest:
  title: "chore: hello"
`, name, targets)
}

func TestPlanPreview(t *testing.T) {
	fake := githubfake.NewT(t)
	ctx := context.Background()
	org, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "acme", Repos: 4, RepoPrefix: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	gcfg := githubapp.Config{V3APIURL: fake.V3URL(), V4APIURL: fake.V4URL()}
	gcfg.App.IntegrationID = fake.AppID()
	gcfg.App.PrivateKey = string(fake.PrivateKeyPEM())
	cc, err := githubapp.NewDefaultCachingClientCreator(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *api.Config) {
		st := c.Store.(*store.Store)
		c.Selector = events.Targets{ClientCreator: cc, Selection: selection.New(st)}
		c.Installations = storeFinder{st: st, repo: controlRepo}
	})
	if err := e.st.UpsertInstallation(ctx, store.Installation{ID: org.InstallationID, AccountLogin: "acme", AccountType: "Organization", AccountID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.ReplaceInstallationRepos(ctx, org.InstallationID, []store.InstallationRepo{{ID: 99, FullName: controlRepo}}); err != nil {
		t.Fatal(err)
	}
	targets := `  query: "org:acme"
  repositories: [acme/missing]
  exclude: ["acme/svc-0004"]`
	existing := planSpec("hello", targets)
	if _, err := e.st.ApplySpecSync(ctx, store.SpecSync{ControlRepo: controlRepo, CommitSHA: "c1", Author: "alice",
		Valid: []store.SyncedSpec{{Name: "hello", Path: "campaigns/hello.yaml", YAML: existing, ContentHash: "h1"}}}); err != nil {
		t.Fatal(err)
	}

	post := func(body any) api.PlanPreview {
		t.Helper()
		code, out := e.do("POST", "/api/v1/plan", e.read, body)
		if code != http.StatusOK {
			t.Fatalf("plan: %d %s", code, out)
		}
		var p api.PlanPreview
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	fake.ResetStats()
	p := post(api.PlanRequest{Spec: planSpec("new-one", targets)})
	if !p.Valid || p.Name != "new-one" || p.Path != "campaigns/new-one.yaml" || p.Change != "added" || p.Targets == nil {
		t.Fatalf("new spec: %+v", p)
	}
	if got := strings.Join(p.Targets.Repositories, ","); got != "acme/svc-0001,acme/svc-0002,acme/svc-0003" || p.Targets.Count != 3 || p.Targets.Cached {
		t.Fatalf("targets: %+v", p.Targets)
	}
	excluded := map[string]string{}
	for _, x := range p.Targets.Excluded {
		excluded[x.Repository] = x.Reason
	}
	if excluded["acme/svc-0004"] == "" || excluded["acme/missing"] == "" {
		t.Fatalf("excluded: %+v", p.Targets.Excluded)
	}
	used := fake.Stats().Categories["graphql"]
	if used == 0 {
		t.Fatal("no GraphQL request counted: the fake's accounting is not what the test thinks")
	}

	// The same targets again come from the selection cache: no request.
	fake.ResetStats()
	same := post([]byte(existing)) // application/yaml
	if !same.Valid || same.Change != "unchanged" || same.LatestVersion != 1 || same.Diff != "" || !same.Targets.Cached {
		t.Fatalf("unchanged spec: %+v", same)
	}
	if n := fake.Stats().Requests(); n != 0 {
		t.Fatalf("a cached plan made %d GitHub requests", n)
	}

	changed := post(api.PlanRequest{Spec: strings.Replace(existing, "plan preview test", "plan preview, changed", 1)})
	if changed.Change != "changed" || changed.LatestVersion != 1 ||
		!strings.Contains(changed.Diff, "-description: plan preview test") || !strings.Contains(changed.Diff, "+description: plan preview, changed") {
		t.Fatalf("changed spec: %+v", changed)
	}

	fake.ResetStats()
	bad := post(api.PlanRequest{Spec: "version: 1\nname: broken\nsteps: 7\n", Path: "campaigns/broken.yaml"})
	if bad.Valid || len(bad.Diagnostics) == 0 || bad.Targets != nil || bad.Diagnostics[0].File != "campaigns/broken.yaml" || bad.Diagnostics[0].Line == 0 {
		t.Fatalf("invalid spec: %+v", bad)
	}
	if n := fake.Stats().Requests(); n != 0 {
		t.Fatalf("an invalid spec made %d GitHub requests", n)
	}

	for _, tc := range []struct {
		name   string
		ct     string
		body   string
		status int
		code   string
	}{
		{"empty spec", "application/json", `{"spec": "  "}`, 400, api.CodeBadRequest},
		{"unknown field", "application/json", `{"spec": "x", "approve": true}`, 400, api.CodeBadRequest},
		{"not JSON", "application/json", `{"spec": `, 400, api.CodeBadRequest},
		{"two values", "application/json", `{"spec": "a"} {}`, 400, api.CodeBadRequest},
		{"wrong type", "application/json", `{"spec": 7}`, 400, api.CodeBadRequest},
		{"form", "application/x-www-form-urlencoded", `spec=x`, 415, api.CodeUnsupportedMedia},
		{"too large", "application/yaml", strings.Repeat("a", 4<<20), 413, api.CodeTooLarge},
		{"binary yaml", "application/yaml", "version: 1\x00", 200, ""},
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/plan", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		req.Header.Set("Authorization", "Bearer "+e.read)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var buf strings.Builder
		b := make([]byte, 1<<16)
		for {
			n, err := resp.Body.Read(b)
			buf.Write(b[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if tc.status == 200 {
			var p api.PlanPreview
			if resp.StatusCode != 200 || json.Unmarshal([]byte(buf.String()), &p) != nil || p.Valid || len(p.Diagnostics) == 0 {
				t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, buf.String())
			}
			continue
		}
		wantError(t, tc.name, resp.StatusCode, []byte(buf.String()), tc.status, tc.code)
	}

	// Without an installation on the control repository the API says so.
	if err := e.st.MarkInstallationDeleted(ctx, org.InstallationID); err != nil {
		t.Fatal(err)
	}
	code, out := e.do("POST", "/api/v1/plan", e.read, api.PlanRequest{Spec: planSpec("new-one", targets)})
	if eb := wantError(t, "no installation", code, out, 503, api.CodeUnavailable); !strings.Contains(eb.Error.Message, "not installed") {
		t.Fatalf("message: %s", eb.Error.Message)
	}
}
