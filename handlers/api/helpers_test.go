package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

const controlRepo = "acme/control"

// specYAML is a small valid spec.
func specYAML(name, extra string) string {
	return fmt.Sprintf(`version: 1
name: %s
description: test campaign %s
targets:
  repositories: [acme/api, acme/web]
steps:
  - name: touch
    image: alpine:3.20
    run: echo hi > hello.txt%s
pullRequest:
  title: "chore: hello"
`, name, name, extra)
}

// env is the API over a fresh database with tokens of each kind.
type env struct {
	t      *testing.T
	st     *store.Store
	srv    *httptest.Server
	h      *api.Handler
	read   string
	write  string
	revokd string
}

func newEnv(t *testing.T, mutate ...func(*api.Config)) *env {
	t.Helper()
	st, _ := storetest.NewStore(t)
	cfg := api.Config{Store: st, ControlRepo: controlRepo}
	for _, m := range mutate {
		m(&cfg)
	}
	h := api.New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, srv: srv, h: h}
	e.read = e.token("reader", store.ScopeRead)
	e.write = e.token("operator", store.ScopeWrite)
	e.revokd = e.token("old", store.ScopeWrite)
	toks, err := st.APITokens(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.Name == "old" {
			if _, _, err := st.RevokeAPIToken(context.Background(), tk.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

// token creates a token and returns its secret.
func (e *env) token(name, scope string) string {
	e.t.Helper()
	tok, hash, err := api.NewToken()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.CreateAPIToken(context.Background(), store.APIToken{Name: name, Scope: scope, CreatedBy: "test"}, hash); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// do sends a request and returns the status and body.
func (e *env) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = bytes.NewBufferString(b), "application/json"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/yaml"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// get decodes a 200 answer into v.
func (e *env) get(path, token string, v any) {
	e.t.Helper()
	code, body := e.do(http.MethodGet, path, token, nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		e.t.Fatalf("GET %s: decode %s: %v", path, body, err)
	}
}

// wantError asserts an error answer with the status and code.
func wantError(t *testing.T, what string, code int, body []byte, wantStatus int, wantCode string) api.ErrorBody {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("%s: not an error body (%v): %s", what, err, body)
	}
	if code != wantStatus || eb.Error.Code != wantCode {
		t.Fatalf("%s: got %d %s, want %d %s: %s", what, code, eb.Error.Code, wantStatus, wantCode, eb.Error.Message)
	}
	return eb
}

// seeded is what seed wrote.
type seeded struct {
	runID int64
	tasks map[string]uuid.UUID // repository -> task
}

// seed syncs campaigns (names; the first gets two versions) and starts a
// run of the first campaign's latest version over repos.
func (e *env) seed(names []string, repos []string) seeded {
	e.t.Helper()
	ctx := context.Background()
	sync := func(commit string, extra string) store.SpecSyncResult {
		in := store.SpecSync{ControlRepo: controlRepo, CommitSHA: commit, Author: "alice"}
		for i, n := range names {
			y := specYAML(n, "")
			if i == 0 {
				y = specYAML(n, extra)
			}
			in.Valid = append(in.Valid, store.SyncedSpec{Name: n, Path: "campaigns/" + n + ".yaml", YAML: y, ContentHash: fmt.Sprintf("%x", sha(y))})
		}
		res, err := e.st.ApplySpecSync(ctx, in)
		if err != nil {
			e.t.Fatal(err)
		}
		return res
	}
	sync("c1", "")
	res := sync("c2", "\n    timeout: 5m")
	if len(res.NewVersions) != 1 || res.NewVersions[0].Version != 2 {
		e.t.Fatalf("second sync: %+v", res)
	}
	v := res.NewVersions[0]
	var tasks []store.NewTask
	for _, r := range repos {
		tasks = append(tasks, store.NewTask{Repository: r, DedupeKey: "dk-" + r, BaseBranch: "main", BaseSHA: "base"})
	}
	run, stored, _, err := e.st.CreateRun(ctx, store.Run{CampaignID: v.CampaignID, SpecVersionID: v.ID, State: store.RunRunning, InstallationID: 7, ControlSHA: "c2"}, tasks)
	if err != nil {
		e.t.Fatal(err)
	}
	out := seeded{runID: run.ID, tasks: map[string]uuid.UUID{}}
	for _, tk := range stored {
		out.tasks[tk.Repository] = tk.ID
	}
	return out
}

// setTask moves a task to a state with an error and log tail.
func (e *env) setTask(id uuid.UUID, state, errText, logTail string) {
	e.t.Helper()
	if _, err := e.st.Pool().Exec(context.Background(),
		`UPDATE repo_tasks SET state = $2, error = NULLIF($3, ''), log_tail = NULLIF($4, ''), updated_at = now() WHERE id = $1`,
		id, state, errText, logTail); err != nil {
		e.t.Fatal(err)
	}
}

func sha(s string) [32]byte { return sha256.Sum256([]byte(s)) }
