package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/selection"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/handlers/events"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

const ctlControlRepo = "acme/control"

// ctlEnvT is the real API router over a fresh database, GitHub faked.
type ctlEnvT struct {
	t            *testing.T
	st           *store.Store
	dbURL        string
	url          string
	read, write  string
	runID        int64
	tasks        map[string]uuid.UUID
	campaignID   int64
	installation int64
}

type finder struct {
	st *store.Store
}

func (f finder) ControlInstallation(ctx context.Context) (int64, error) {
	id, ok, err := f.st.InstallationForRepo(ctx, ctlControlRepo)
	if err == nil && !ok {
		err = api.ErrNoInstallation
	}
	return id, err
}

func ctlSpec(name, extra string) string {
	return fmt.Sprintf(`version: 1
name: %s
description: ctl test%s
targets:
  query: "org:acme"
steps:
  - name: touch
    image: alpine:3.20
    run: echo hi > hello.txt
pullRequest:
  title: "chore: hello"
`, name, extra)
}

func newCtlEnv(t *testing.T, control api.RunControl) *ctlEnvT {
	t.Helper()
	ctx := context.Background()
	st, dbURL := storetest.NewStore(t)
	fake := githubfake.NewT(t)
	org, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "acme", Repos: 3, RepoPrefix: "svc"})
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
	if err := st.UpsertInstallation(ctx, store.Installation{ID: org.InstallationID, AccountLogin: "acme", AccountType: "Organization", AccountID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceInstallationRepos(ctx, org.InstallationID, []store.InstallationRepo{{ID: 1, FullName: ctlControlRepo}}); err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Config{Store: st, ControlRepo: ctlControlRepo, Control: control,
		Selector: events.Targets{ClientCreator: cc, Selection: selection.New(st)}, Installations: finder{st}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &ctlEnvT{t: t, st: st, dbURL: dbURL, url: srv.URL, tasks: map[string]uuid.UUID{}, installation: org.InstallationID}
	e.read = e.token("reader", store.ScopeRead)
	e.write = e.token("operator", store.ScopeWrite)

	var valid []store.SyncedSpec
	for _, n := range []string{"bump-go", "codeowners"} {
		y := ctlSpec(n, "")
		valid = append(valid, store.SyncedSpec{Name: n, Path: "campaigns/" + n + ".yaml", YAML: y, ContentHash: fmt.Sprintf("%x", sha256.Sum256([]byte(y)))})
	}
	res, err := st.ApplySpecSync(ctx, store.SpecSync{ControlRepo: ctlControlRepo, CommitSHA: "c1", Author: "alice", Valid: valid})
	if err != nil {
		t.Fatal(err)
	}
	v := res.NewVersions[0]
	if v.Version != 1 {
		t.Fatalf("sync: %+v", res)
	}
	var tasks []store.NewTask
	for i := range 6 {
		r := fmt.Sprintf("acme/svc-%04d", i+1)
		tasks = append(tasks, store.NewTask{Repository: r, DedupeKey: "dk-" + r, BaseBranch: "main", BaseSHA: "b"})
	}
	run, stored, _, err := st.CreateRun(ctx, store.Run{CampaignID: v.CampaignID, SpecVersionID: v.ID, State: store.RunRunning, InstallationID: org.InstallationID, ControlSHA: "c1"}, tasks)
	if err != nil {
		t.Fatal(err)
	}
	e.runID, e.campaignID = run.ID, v.CampaignID
	for _, tk := range stored {
		e.tasks[tk.Repository] = tk.ID
	}
	e.setTask("acme/svc-0002", "failed", "step touch exited 1", "hello\nboom: it broke\n")
	e.setTask("acme/svc-0003", "published", "", "")
	e.setTask("acme/svc-0004", "no_changes", "", "")
	return e
}

func (e *ctlEnvT) token(name, scope string) string {
	e.t.Helper()
	tok, hash, err := api.NewToken()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.CreateAPIToken(context.Background(), store.APIToken{Name: name, Scope: scope}, hash); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *ctlEnvT) setTask(repo, state, errText, logTail string) {
	e.t.Helper()
	if _, err := e.st.Pool().Exec(context.Background(),
		`UPDATE repo_tasks SET state = $2, error = NULLIF($3, ''), log_tail = NULLIF($4, ''), updated_at = now() WHERE id = $1`,
		e.tasks[repo], state, errText, logTail); err != nil {
		e.t.Fatal(err)
	}
}

// ctl runs `campaignbot ctl args...` with the token and returns the exit
// code, stdout and stderr.
func (e *ctlEnvT) ctl(token string, args ...string) (int, string, string) {
	e.t.Helper()
	e.t.Setenv("CAMPAIGN_API_URL", e.url)
	e.t.Setenv("CAMPAIGN_API_TOKEN", token)
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"ctl"}, args...), &out, &errOut)
	code := 0
	if err != nil {
		code = 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errOut.WriteString(err.Error())
	}
	return code, out.String(), errOut.String()
}

func TestCtlReadCommands(t *testing.T) {
	e := newCtlEnv(t, nil)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(ctlSpec("bump-go", " v2")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("version: 1\nname: bump-go\nsteps: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	task2 := e.tasks["acme/svc-0002"].String()
	for _, tc := range []struct {
		name  string
		token string
		args  []string
		code  int
		want  []string
		not   []string
	}{
		{"list", e.read, []string{"list"}, 0, []string{"NAME", "bump-go", "running", "codeowners"}, nil},
		{"status", e.read, []string{"status", "bump-go"}, 0,
			[]string{"campaign bump-go · run", "RUNNING", "[", "3/6", "3 queued, 1 no_changes, 1 published, 1 failed", "acme/svc-0002", task2, "step touch exited 1"}, nil},
		{"status of a campaign that never ran", e.read, []string{"status", "codeowners"}, 4, []string{"has not run yet"}, nil},
		{"status unknown", e.read, []string{"status", "nope"}, 4, []string{`no campaign named "nope"`}, nil},
		{"changesets failed", e.read, []string{"changesets", "bump-go", "--state", "failed"}, 0, []string{"acme/svc-0002", task2, "1 changeset(s)"}, []string{"acme/svc-0001"}},
		{"changesets repo glob", e.read, []string{"changesets", "--repo", "acme/svc-000[", "bump-go"}, 0, []string{"no changesets"}, nil},
		{"changesets two states", e.read, []string{"changesets", "bump-go", "--state=failed,published"}, 0, []string{"acme/svc-0002", "acme/svc-0003", "2 changeset(s)"}, nil},
		{"changesets bad state", e.read, []string{"changesets", "bump-go", "--state", "exploded"}, 1, []string{"unknown state"}, nil},
		{"logs", e.read, []string{"logs", task2}, 0, []string{"hello\nboom: it broke", "step touch exited 1"}, nil},
		{"logs bad id", e.read, []string{"logs", "nope"}, 1, []string{"not a changeset id"}, nil},
		{"audit empty", e.read, []string{"audit", "--campaign", "bump-go"}, 0, []string{"no audit entries"}, nil},
		{"plan", e.read, []string{"plan", good}, 0, []string{"campaign bump-go: changes version 1", "-description: ctl test", "+description: ctl test v2", "targets: 3 repositories", "acme/svc-0001"}, nil},
		{"plan invalid", e.read, []string{"plan", bad}, 1, []string{"campaigns/bump-go.yaml:3:", "invalid"}, nil},
		{"plan missing file", e.read, []string{"plan", filepath.Join(dir, "nope.yaml")}, 2, []string{"read the spec"}, nil},
		{"whoami", e.read, []string{"whoami"}, 0, []string{`token "reader"`, "scope read"}, nil},
		{"pause with a read token", e.read, []string{"pause", "bump-go"}, 3, []string{"needs a write token"}, nil},
		{"tokens with a read token", e.read, []string{"tokens", "list"}, 3, []string{"needs a write token"}, nil},
		{"tokens list", e.write, []string{"tokens", "list"}, 0, []string{"reader", "operator", "write"}, nil},
		{"tokens create is not an API command", e.write, []string{"tokens", "create"}, 2, []string{"campaignbot tokens create"}, nil},
		{"cancel needs --yes", e.write, []string{"cancel", "bump-go"}, 2, []string{"--yes"}, nil},
		{"no token", "", []string{"list"}, 2, []string{"CAMPAIGN_API_TOKEN"}, nil},
		{"bad token", "cbt_wrong", []string{"list"}, 3, []string{"unknown API token"}, nil},
		{"bad output", e.read, []string{"list", "-o", "yaml"}, 2, []string{"-o must be human or json"}, nil},
		{"extra argument", e.read, []string{"list", "x"}, 2, []string{"no arguments"}, nil},
		{"unknown command", e.read, []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}, nil},
		{"unknown flag", e.read, []string{"status", "bump-go", "--nope"}, 2, []string{"flag provided but not defined"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.ctl(tc.token, tc.args...)
			all := out + errOut
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(all, w) {
					t.Errorf("output has %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestCtlJSONOutput(t *testing.T) {
	e := newCtlEnv(t, nil)
	code, out, errOut := e.ctl(e.read, "-o", "json", "list")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	var camps []api.Campaign
	if err := json.Unmarshal([]byte(out), &camps); err != nil || len(camps) != 2 {
		t.Fatalf("list -o json: %v %s", err, out)
	}
	code, out, _ = e.ctl(e.read, "status", "bump-go", "-o", "json")
	var sv statusView
	if err := json.Unmarshal([]byte(out), &sv); code != 0 || err != nil || sv.Run.ID != e.runID || sv.Run.Total != 6 || len(sv.Failed) != 1 {
		t.Fatalf("status -o json: %d %v %s", code, err, out)
	}
	code, out, _ = e.ctl(e.read, "changesets", "bump-go", "-o", "json")
	var cs []api.Changeset
	if err := json.Unmarshal([]byte(out), &cs); code != 0 || err != nil || len(cs) != 6 {
		t.Fatalf("changesets -o json: %d %v %s", code, err, out)
	}
	// An error in JSON mode still exits non-zero with the message on stderr.
	code, out, errOut = e.ctl(e.read, "status", "nope", "-o", "json")
	if code != 4 || out != "" || !strings.Contains(errOut, "no campaign") {
		t.Fatalf("status nope -o json: %d %q %q", code, out, errOut)
	}
}

func TestCtlStatusWatchFollowsTheRunToTheEnd(t *testing.T) {
	e := newCtlEnv(t, nil)
	go func() {
		time.Sleep(1200 * time.Millisecond)
		ctx := context.Background()
		_, _ = e.st.Pool().Exec(ctx, `UPDATE repo_tasks SET state = 'published', updated_at = now() WHERE run_id = $1 AND state IN ('queued', 'failed')`, e.runID)
		_, _ = e.st.Pool().Exec(ctx, `UPDATE runs SET state = 'completed', finished_at = now(), updated_at = now() WHERE id = $1`, e.runID)
	}()
	start := time.Now()
	code, out, errOut := e.ctl(e.read, "status", "bump-go", "--watch", "--interval", "1s")
	if code != 0 {
		t.Fatalf("watch: %d %s", code, errOut)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("watch did not stop when the run completed")
	}
	if n := strings.Count(out, "campaign bump-go · run"); n < 2 {
		t.Fatalf("watch drew the dashboard %d time(s), want the first state and the last:\n%s", n, out)
	}
	if !strings.Contains(out, "COMPLETED") || !strings.Contains(out, "6/6 100%") {
		t.Fatalf("the last dashboard is not the completed run:\n%s", out)
	}
}

func TestCtlUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	t.Setenv("CAMPAIGN_API_URL", url)
	t.Setenv("CAMPAIGN_API_TOKEN", "cbt_x")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"ctl", "list", "--timeout", "2s"}, &out, &errOut)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != exitUnreachable || !strings.Contains(err.Error(), "cannot reach the API") {
		t.Fatalf("unreachable server: %v", err)
	}
}

// TestTokensCreateBootstrapsTheAPI creates the first write token straight
// in the database and uses it through the API.
func TestTokensCreateBootstrapsTheAPI(t *testing.T) {
	e := newCtlEnv(t, nil)
	t.Setenv("DATABASE_URL", e.dbURL)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"tokens", "create", "--name", "deploy-bot", "--scope", "write", "--created-by", "alice"}, &out, &errOut); err != nil {
		t.Fatalf("tokens create: %v\n%s", err, errOut.String())
	}
	secret := strings.TrimSpace(out.String())
	if !strings.HasPrefix(secret, api.TokenPrefix) || strings.Count(out.String(), "\n") != 1 || !strings.Contains(errOut.String(), "shown once") {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
	code, stdout, stderr := e.ctl(secret, "whoami")
	if code != 0 || !strings.Contains(stdout, `"deploy-bot"`) || !strings.Contains(stdout, "scope write") {
		t.Fatalf("whoami with the new token: %d %s %s", code, stdout, stderr)
	}
	// The name is taken while the token is active; a bad scope is refused.
	for _, args := range [][]string{
		{"tokens", "create", "--name", "deploy-bot", "--scope", "read"},
		{"tokens", "create", "--name", "other", "--scope", "admin"},
		{"tokens", "create", "--name", "has space"},
	} {
		out.Reset()
		err := run(context.Background(), args, &out, &errOut)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 1 || out.Len() != 0 {
			t.Fatalf("%v: %v, stdout %q", args, err, out.String())
		}
	}
	err := run(context.Background(), []string{"tokens", "create"}, &out, &errOut)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("tokens create without --name: %v", err)
	}
	// The creation is in the audit log, and revoking through the API works.
	code, stdout, _ = e.ctl(secret, "audit", "--actor", "operator:alice")
	if code != 0 || !strings.Contains(stdout, "token.create") {
		t.Fatalf("audit: %d %s", code, stdout)
	}
	code, stdout, _ = e.ctl(secret, "tokens", "revoke", "1")
	if code != 0 || !strings.Contains(stdout, "revoked token 1 (reader, read)") {
		t.Fatalf("revoke: %d %s", code, stdout)
	}
	code, _, stderr = e.ctl(e.read, "list")
	if code != 3 || !strings.Contains(stderr, "revoked") {
		t.Fatalf("revoked reader: %d %s", code, stderr)
	}
}

// scriptedControl is run control that changes the run's rows as the real
// one does, then, a moment later, plays what the workers would do (then).
type scriptedControl struct {
	e    *ctlEnvT
	then func(ctx context.Context)
}

func (c *scriptedControl) exec(sql string, args ...any) int64 {
	tag, err := c.e.st.Pool().Exec(context.Background(), sql, args...)
	if err != nil {
		c.e.t.Error(err)
	}
	return tag.RowsAffected()
}

func (c *scriptedControl) later() {
	if c.then != nil {
		go func() {
			time.Sleep(1200 * time.Millisecond)
			c.then(context.Background())
		}()
	}
}

func (c *scriptedControl) Pause(_ context.Context, runID int64, actor, _ string) (bool, error) {
	return c.exec(`UPDATE runs SET state = 'paused', paused_reason = $2, updated_at = now() WHERE id = $1 AND state = 'running'`, runID, "paused by @"+actor) == 1, nil
}

func (c *scriptedControl) Resume(_ context.Context, runID int64, _ string) (bool, error) {
	ok := c.exec(`UPDATE runs SET state = 'running', paused_reason = NULL, updated_at = now() WHERE id = $1 AND state = 'paused'`, runID) == 1
	c.later()
	return ok, nil
}

func (c *scriptedControl) Retry(_ context.Context, runID int64, _, repository string) (int, error) {
	n := c.exec(`UPDATE repo_tasks SET state = 'queued', error = NULL, updated_at = now() WHERE run_id = $1 AND state = 'failed' AND ($2 = '' OR repository = $2)`, runID, repository)
	c.later()
	return int(n), nil
}

func (c *scriptedControl) Cancel(context.Context, int64, string, string) (orchestrator.CancelResult, error) {
	return orchestrator.CancelResult{}, errors.New("not scripted")
}

// TestCtlWaitFollowsTheRunToItsEnd: --wait follows a retry or a resume
// until nothing is in flight and says how it ended: retried changesets
// that failed again (exit 1), the run paused meanwhile (exit 1), or
// --wait-timeout passing first (exit 7) — it never waits forever.
func TestCtlWaitFollowsTheRunToItsEnd(t *testing.T) {
	c := &scriptedControl{}
	e := newCtlEnv(t, c)
	c.e = e
	settleAll := func(failAgain string) func(ctx context.Context) {
		return func(ctx context.Context) {
			c.exec(`UPDATE repo_tasks SET state = CASE WHEN repository = $2 THEN 'failed' ELSE 'published' END, updated_at = now()
WHERE run_id = $1 AND state = 'queued'`, e.runID, failAgain)
		}
	}
	task2 := e.tasks["acme/svc-0002"].String()

	// The retried changeset fails again: exit 1, and which one is said.
	c.then = settleAll("acme/svc-0002")
	start := time.Now()
	code, out, errOut := e.ctl(e.write, "retry", "bump-go", "--wait")
	if code != exitFailed || !strings.Contains(out, "1 changeset(s) queued again") || !strings.Contains(out, "is running: 1 no_changes, 4 published, 1 failed") ||
		!strings.Contains(errOut, "failed again: acme/svc-0002 "+task2) || !strings.Contains(errOut, "1 of 1 retried changeset(s) failed again") {
		t.Fatalf("retry --wait, failing again: %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("retry --wait took %s", d)
	}
	// This time it works: exit 0.
	c.then = settleAll("")
	if code, out, errOut := e.ctl(e.write, "retry", "bump-go", "--wait", "--repo", "acme/svc-0002"); code != exitOK || !strings.Contains(out, "is running: 1 no_changes, 5 published") {
		t.Fatalf("retry --wait, fixed: %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// Nothing to retry: no waiting.
	if code, out, _ := e.ctl(e.write, "retry", "bump-go", "--wait"); code != exitOK || !strings.Contains(out, "no failed changesets to retry") {
		t.Fatalf("retry --wait with nothing failed: %d %s", code, out)
	}

	// A resumed run that pauses again while followed: exit 1 with the reason.
	c.exec(`UPDATE repo_tasks SET state = 'queued' WHERE run_id = $1 AND repository = 'acme/svc-0001'`, e.runID)
	if code, _, errOut := e.ctl(e.write, "pause", "bump-go"); code != exitOK {
		t.Fatalf("pause: %d %s", code, errOut)
	}
	c.then = func(context.Context) {
		c.exec(`UPDATE runs SET state = 'paused', paused_reason = 'paused automatically: 3 of 5 finished tasks failed' WHERE id = $1`, e.runID)
	}
	if code, _, errOut := e.ctl(e.write, "resume", "bump-go", "--wait"); code != exitFailed || !strings.Contains(errOut, "was paused while waiting: paused automatically: 3 of 5") {
		t.Fatalf("resume --wait, paused again: %d %s", code, errOut)
	}

	// Work that does not move: --wait gives up after --wait-timeout, exit 7.
	c.then = nil
	start = time.Now()
	code, _, errOut = e.ctl(e.write, "resume", "bump-go", "--wait", "--wait-timeout", "2s")
	if code != exitWaitTimeout || !strings.Contains(errOut, "gave up waiting after 2s: run") || !strings.Contains(errOut, "1 changeset(s) in flight (1 queued") {
		t.Fatalf("resume --wait of a run that does not move: %d %s", code, errOut)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("--wait-timeout 2s took %s", d)
	}
	if code, _, _ := e.ctl(e.write, "resume", "bump-go", "--wait", "--wait-timeout", "0s"); code != exitUsage {
		t.Fatalf("--wait-timeout 0s: exit %d", code)
	}
}
