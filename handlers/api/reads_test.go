package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/store"
)

// pages follows next_cursor through a list and returns every item.
func pages[T any](e *env, path string, limit int) ([]T, int) {
	e.t.Helper()
	var all []T
	n := 0
	next := ""
	for {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		p := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
		if next != "" {
			p += "&cursor=" + url.QueryEscape(next)
		}
		var page api.Page[T]
		e.get(p, e.read, &page)
		n++
		if len(page.Items) > limit {
			e.t.Fatalf("%s: %d items over the limit %d", p, len(page.Items), limit)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, n
		}
		if n > 100 {
			e.t.Fatal("pagination does not end")
		}
		next = page.NextCursor
	}
}

func TestCampaignsVersionsRuns(t *testing.T) {
	e := newEnv(t)
	s := e.seed([]string{"bump-go", "add-codeowners", "zz-last"}, []string{"acme/api", "acme/web"})

	camps, n := pages[api.Campaign](e, "/api/v1/campaigns", 2)
	if n != 2 || len(camps) != 3 || camps[0].Name != "add-codeowners" || camps[1].Name != "bump-go" || camps[2].Name != "zz-last" {
		t.Fatalf("campaigns over %d pages: %+v", n, camps)
	}
	if camps[1].LatestVersion != 2 || camps[1].LatestRun == nil || camps[1].LatestRun.ID != s.runID || camps[0].LatestRun != nil {
		t.Fatalf("latest version/run: %+v / %+v", camps[1], camps[0])
	}

	var c api.Campaign
	e.get("/api/v1/campaigns/bump-go", e.read, &c)
	if c.ControlRepo != controlRepo || c.SpecPath != "campaigns/bump-go.yaml" || c.State != "active" || c.LatestRun.State != "running" {
		t.Fatalf("campaign: %+v", c)
	}

	vs, _ := pages[api.SpecVersion](e, "/api/v1/campaigns/bump-go/versions", 1)
	if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 || vs[0].YAML != "" || vs[0].CommitSHA != "c2" || vs[0].Author != "alice" {
		t.Fatalf("versions: %+v", vs)
	}
	var v api.SpecVersion
	e.get("/api/v1/campaigns/bump-go/versions/2", e.read, &v)
	if !strings.Contains(v.YAML, "timeout: 5m") || v.ContentHash == "" {
		t.Fatalf("version 2: %+v", v)
	}

	runs, _ := pages[api.Run](e, "/api/v1/campaigns/bump-go/runs", 10)
	if len(runs) != 1 || runs[0].ID != s.runID || runs[0].SpecVersion != 2 || runs[0].Total != 2 || runs[0].Counts["queued"] != 2 {
		t.Fatalf("runs: %+v", runs)
	}
	var r api.Run
	e.get(fmt.Sprintf("/api/v1/runs/%d", s.runID), e.read, &r)
	if r.Campaign != "bump-go" || r.State != "running" || r.InstallationID != 7 || r.StartedAt == nil {
		t.Fatalf("run: %+v", r)
	}

	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/api/v1/campaigns/nope", 404, api.CodeNotFound},
		{"/api/v1/campaigns/Bad_Name", 400, api.CodeBadRequest},
		{"/api/v1/campaigns/bump-go/versions/3", 404, api.CodeNotFound},
		{"/api/v1/campaigns/bump-go/versions/0", 400, api.CodeBadRequest},
		{"/api/v1/campaigns/bump-go/versions/x", 400, api.CodeBadRequest},
		{"/api/v1/campaigns/nope/runs", 404, api.CodeNotFound},
		{"/api/v1/runs/999999", 404, api.CodeNotFound},
		{"/api/v1/runs/-1", 400, api.CodeBadRequest},
		{"/api/v1/runs/abc", 400, api.CodeBadRequest},
		{"/api/v1/runs/99999999999999999999999", 400, api.CodeBadRequest},
		{"/api/v1/campaigns?limit=0", 400, api.CodeBadRequest},
		{"/api/v1/campaigns?limit=501", 400, api.CodeBadRequest},
		{"/api/v1/campaigns?limit=ten", 400, api.CodeBadRequest},
		{"/api/v1/campaigns?cursor=%%%", 400, api.CodeBadRequest},
		{"/api/v1/campaigns?cursor=bm90LWpzb24", 400, api.CodeBadRequest},
	} {
		code, body := e.do("GET", tc.path, e.read, nil)
		wantError(t, tc.path, code, body, tc.status, tc.code)
	}

	// A cursor belongs to its list.
	var p api.Page[api.Campaign]
	e.get("/api/v1/campaigns?limit=1", e.read, &p)
	code, body := e.do("GET", "/api/v1/campaigns/bump-go/runs?cursor="+p.NextCursor, e.read, nil)
	wantError(t, "cursor of another list", code, body, 400, api.CodeBadRequest)
}

func TestChangesetsFiltersAndLogs(t *testing.T) {
	e := newEnv(t)
	var repos []string
	for i := range 12 {
		repos = append(repos, fmt.Sprintf("acme/svc-%02d", i))
	}
	repos = append(repos, "acme/API", "other/web")
	s := e.seed([]string{"bump-go"}, repos)
	e.setTask(s.tasks["acme/svc-03"], "failed", "step touch exited 1", "line 1\nline 2: boom\n")
	e.setTask(s.tasks["acme/svc-07"], "failed", "step touch exited 2", "")
	e.setTask(s.tasks["other/web"], "published", "", "")
	if _, err := e.st.Pool().Exec(context.Background(), `UPDATE repo_tasks SET pr_number = 17, pr_url = 'https://github.test/other/web/pull/17', branch = 'campaign/1/2/other-web' WHERE id = $1`, s.tasks["other/web"]); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("/api/v1/runs/%d/changesets", s.runID)

	all, n := pages[api.Changeset](e, base, 5)
	if len(all) != len(repos) || n != 3 {
		t.Fatalf("all changesets: %d over %d pages", len(all), n)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Repository >= all[i].Repository {
			t.Fatalf("not ordered by repository at %d: %s, %s", i, all[i-1].Repository, all[i].Repository)
		}
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?state=failed", []string{"acme/svc-03", "acme/svc-07"}},
		{"?state=failed,published", []string{"acme/svc-03", "acme/svc-07", "other/web"}},
		{"?state=failed&state=published", []string{"acme/svc-03", "acme/svc-07", "other/web"}},
		{"?repo=acme/api", []string{"acme/API"}},
		{"?repo=other/*", []string{"other/web"}},
		{"?repo=acme/svc-1*", []string{"acme/svc-10", "acme/svc-11"}},
		{"?repo=acme/svc_0*", nil}, // _ is a literal, not a LIKE wildcard
		{"?repo=*svc-0*&state=failed", []string{"acme/svc-03", "acme/svc-07"}},
		{"?state=merged", nil},
	} {
		got, _ := pages[api.Changeset](e, base+tc.query, 1)
		var names []string
		for _, c := range got {
			names = append(names, c.Repository)
		}
		if strings.Join(names, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %v, want %v", tc.query, names, tc.want)
		}
	}
	code, body := e.do("GET", base+"?state=exploded", e.read, nil)
	if eb := wantError(t, "unknown state", code, body, 400, api.CodeBadRequest); !strings.Contains(eb.Error.Message, "failed") {
		t.Fatalf("the message should list the states: %s", eb.Error.Message)
	}

	var cs api.Changeset
	e.get("/api/v1/changesets/"+s.tasks["other/web"].String(), e.read, &cs)
	if cs.PRNumber != 17 || cs.State != "published" || cs.RunID != s.runID || cs.Branch == "" {
		t.Fatalf("changeset: %+v", cs)
	}
	var logs api.Logs
	e.get("/api/v1/changesets/"+s.tasks["acme/svc-03"].String()+"/logs", e.read, &logs)
	if logs.LogTail != "line 1\nline 2: boom\n" || logs.Error != "step touch exited 1" || logs.LogsArtifact != nil {
		t.Fatalf("logs: %+v", logs)
	}
	code, body = e.do("GET", "/api/v1/changesets/"+s.tasks["acme/svc-03"].String()+"/logs/raw", e.read, nil)
	wantError(t, "raw logs without storage", code, body, 404, api.CodeNotFound)
	code, body = e.do("GET", "/api/v1/changesets/not-a-uuid", e.read, nil)
	wantError(t, "bad id", code, body, 400, api.CodeBadRequest)
	code, body = e.do("GET", "/api/v1/changesets/6b1b2f0e-0000-4000-8000-000000000000/logs", e.read, nil)
	wantError(t, "unknown task", code, body, 404, api.CodeNotFound)
}

func TestAuditList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 7 {
		camp := "bump-go"
		if i%2 == 1 {
			camp = "other"
		}
		if err := e.st.Audit(ctx, store.AuditEntry{Actor: "alice", Action: "pause", Target: fmt.Sprintf("run:%d", i), Outcome: "accepted",
			Details: map[string]any{"campaign": camp, "n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.Audit(ctx, store.AuditEntry{Actor: "bob", Action: "approve", Target: "acme/control#1", Outcome: "accepted"}); err != nil {
		t.Fatal(err)
	}
	all, _ := pages[api.AuditEntry](e, "/api/v1/audit", 3)
	if len(all) != 8 || all[0].Actor != "bob" || all[0].Details == nil {
		t.Fatalf("audit: %+v", all)
	}
	mine, n := pages[api.AuditEntry](e, "/api/v1/audit?campaign=bump-go", 2)
	if len(mine) != 4 || n != 2 {
		t.Fatalf("bump-go entries: %d over %d pages", len(mine), n)
	}
	for i, a := range mine {
		if a.Details["campaign"] != "bump-go" || (i > 0 && a.ID >= mine[i-1].ID) {
			t.Fatalf("entry %d: %+v", i, a)
		}
	}
	bob, _ := pages[api.AuditEntry](e, "/api/v1/audit?actor=bob", 10)
	if len(bob) != 1 || bob[0].Action != "approve" {
		t.Fatalf("bob: %+v", bob)
	}
	code, body := e.do("GET", "/api/v1/audit?campaign=NOT%20A%20NAME", e.read, nil)
	wantError(t, "bad campaign filter", code, body, 400, api.CodeBadRequest)
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	toks, _ := pagesWith[api.Token](e, "/api/v1/tokens", 2, e.write)
	if len(toks) != 3 || toks[0].Name != "reader" || toks[2].RevokedAt == nil {
		t.Fatalf("tokens: %+v", toks)
	}
	victim := e.token("ci", store.ScopeRead)
	var who api.Token
	e.get("/api/v1/whoami", victim, &who)
	code, body := e.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", who.ID), e.write, nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"revoked_at"`) {
		t.Fatalf("revoke: %d %s", code, body)
	}
	code, body = e.do("GET", "/api/v1/whoami", victim, nil)
	wantError(t, "revoked token", code, body, 401, api.CodeUnauthorized)
	code, body = e.do("DELETE", "/api/v1/tokens/424242", e.write, nil)
	wantError(t, "unknown token", code, body, 404, api.CodeNotFound)
	code, body = e.do("DELETE", "/api/v1/tokens/x", e.write, nil)
	wantError(t, "bad token id", code, body, 400, api.CodeBadRequest)
	entries, err := e.st.APIAudit(context.Background(), store.AuditFilter{Actor: "api:operator"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[1].Action != "token.revoke" || entries[1].Outcome != "accepted" || entries[1].Details["token_name"] != "ci" ||
		entries[0].Outcome != "refused" || entries[0].Target != "token:424242" {
		t.Fatalf("token audit: %+v", entries)
	}
}

// pagesWith is pages with another token.
func pagesWith[T any](e *env, path string, limit int, token string) ([]T, int) {
	saved := e.read
	e.read = token
	defer func() { e.read = saved }()
	return pages[T](e, path, limit)
}

// fileLogs opens logs from a real filesystem artifact storage, as the
// server's adapter does.
type fileLogs struct {
	storage artifacts.Storage
	st      *store.Store
}

func (l fileLogs) OpenLogs(ctx context.Context, id uuid.UUID) (io.ReadCloser, store.Artifact, bool, error) {
	rc, a, err := artifacts.OpenCurrent(ctx, l.storage, l.st, id, artifacts.KindLogs)
	if errors.Is(err, artifacts.ErrNotFound) {
		return nil, a, false, nil
	}
	return rc, a, err == nil, err
}

func TestStoredLogs(t *testing.T) {
	storage, err := artifacts.NewFileStorage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *api.Config) { c.Logs = fileLogs{storage: storage, st: c.Store.(*store.Store)} })
	s := e.seed([]string{"bump-go"}, []string{"acme/api", "acme/web"})
	ctx := context.Background()
	id := s.tasks["acme/api"]
	full := strings.Repeat("step output line\n", 2000) + "the end\n"
	sum := sha256.Sum256([]byte(full))
	digest := hex.EncodeToString(sum[:])
	if err := storage.Put(ctx, "logs/"+id.String(), strings.NewReader(full), int64(len(full)), digest); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.ReplaceArtifact(ctx, store.Artifact{TaskID: id, Kind: "logs", SHA256: digest, SizeBytes: int64(len(full)), StorageKey: "logs/" + id.String()}); err != nil {
		t.Fatal(err)
	}
	e.setTask(id, "failed", "step touch exited 1", "the end\n")

	var logs api.Logs
	e.get("/api/v1/changesets/"+id.String()+"/logs", e.read, &logs)
	if logs.LogsArtifact == nil || logs.LogsArtifact.SizeBytes != int64(len(full)) || logs.LogsArtifact.SHA256 != digest ||
		logs.LogsArtifact.URL != "/api/v1/changesets/"+id.String()+"/logs/raw" {
		t.Fatalf("logs: %+v", logs)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+logs.LogsArtifact.URL, nil)
	req.Header.Set("Authorization", "Bearer "+e.read)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != full || resp.Header.Get("X-Content-SHA256") != digest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("raw logs: %d %d bytes %q", resp.StatusCode, len(body), resp.Header)
	}
	// A task without stored logs: 404 with the way to its tail.
	code, out := e.do("GET", "/api/v1/changesets/"+s.tasks["acme/web"].String()+"/logs/raw", e.read, nil)
	if eb := wantError(t, "no stored logs", code, out, 404, api.CodeNotFound); !strings.Contains(eb.Error.Message, "/logs") {
		t.Fatalf("message: %s", eb.Error.Message)
	}
}
