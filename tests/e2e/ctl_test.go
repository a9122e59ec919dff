package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/fixtures/demo"
	"github.com/campaignbot/campaignbot/handlers/api"
)

// ctlSpecName is the campaign TestCtlDrivesARunThroughTheAPI runs.
const ctlSpecName = "go-1-26-waves"

// ctlSpecYAML is the sandbox's spec with a first step that fails, on
// purpose and every time, in the repositories still on Go 1.22 (their
// go.mod pins it), in three rollout waves so that a pause has waves to
// hold, and with pauseOnFailureRate at 1 so that only people pause it.
const ctlSpecYAML = `version: 1
name: ` + ctlSpecName + `
description: Raise the go directive and the Docker build image to Go 1.26, in waves.
owners: [octo-org/platform]
targets:
  query: "org:octo-org language:Go archived:false fork:false"
  exclude: ["octo-org/legacy-*"]
  require:
    files: [go.mod]
steps:
  - name: check toolchain
    image: golang:1.26-alpine
    run: |
      if grep -q '^go 1\.22$' go.mod; then
        echo "go.mod pins go 1.22: upgrade it by hand before Go 1.26 (toolchain check)"
        exit 3
      fi
    timeout: 1m
  - name: bump go directive
    image: golang:1.26-alpine
    run: sed -i -E 's/^go 1\.[0-9]+(\.[0-9]+)?$/go 1.26/' go.mod
    timeout: 1m
  - name: bump build image
    image: golang:1.26-alpine
    run: |
      if [ -f Dockerfile ]; then
        sed -i -E 's#^FROM golang:1\.[0-9]+(\.[0-9]+)?-#FROM golang:1.26-#' Dockerfile
      fi
    timeout: 1m
changes:
  allow: [go.mod, Dockerfile]
pullRequest:
  title: "chore: bump Go to 1.26 in {{ .Repository.Name }}"
  commitMessage: "chore: bump Go to 1.26"
  labels: [automated, dependencies]
rollout:
  approval: required
  maxOpenPRs: 500
  prsPerHour: 500
  waves: [2, 4]
  pauseOnFailureRate: 1
`

// ctlRepos is the size of the demo organisation: ten targets, three of
// them on Go 1.22, one already current, three waves (2, 2, 6).
const ctlRepos = 14

// ctlStatus is `ctl status -o json`.
type ctlStatus struct {
	Run    api.Run         `json:"run"`
	Failed []api.Changeset `json:"failed"`
}

// ctlResult is one finished `campaignbot` process.
type ctlResult struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r ctlResult) String() string {
	return fmt.Sprintf("campaignbot %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// ctlCLI runs the real campaignbot binary as a child process, with only
// the API's URL and a token in its environment: no database, no Redis.
type ctlCLI struct {
	t     *testing.T
	bin   string
	home  string
	url   string
	token string
}

// as is the same CLI with another token.
func (c *ctlCLI) as(token string) *ctlCLI {
	cp := *c
	cp.token = token
	return &cp
}

// start starts `campaignbot ctl args...`; wait returns its result.
func (c *ctlCLI) start(timeout time.Duration, args ...string) (wait func() ctlResult) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	full := append([]string{"ctl"}, args...)
	cmd := exec.CommandContext(ctx, c.bin, full...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.home, "TMPDIR=" + os.TempDir(),
		"CAMPAIGN_API_URL=" + c.url, "CAMPAIGN_API_TOKEN=" + c.token}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		cancel()
		c.t.Fatalf("start campaignbot %v: %v", full, err)
	}
	return func() ctlResult {
		err := cmd.Wait()
		defer cancel()
		r := ctlResult{args: full, stdout: out.String(), stderr: errOut.String()}
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil:
			c.t.Fatalf("campaignbot %v did not end within %s\nstdout:\n%s\nstderr:\n%s", full, timeout, r.stdout, r.stderr)
		case errors.As(err, &ee):
			r.code = ee.ExitCode()
		case err != nil:
			c.t.Fatalf("campaignbot %v: %v", full, err)
		}
		return r
	}
}

// run runs `campaignbot ctl args...` to its end (at most a minute).
func (c *ctlCLI) run(args ...string) ctlResult {
	c.t.Helper()
	return c.start(time.Minute, args...)()
}

// expect runs the command and fails the test unless it exits with code.
func (c *ctlCLI) expect(code int, args ...string) ctlResult {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("want exit %d\n%s", code, r)
	}
	return r
}

// json runs the command with -o json, wants exit 0 and decodes stdout into v.
func (c *ctlCLI) json(v any, args ...string) ctlResult {
	c.t.Helper()
	r := c.expect(0, append([]string{"-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		c.t.Fatalf("decode the JSON output: %v\n%s", err, r)
	}
	return r
}

// status is the campaign's latest run as `ctl status -o json` shows it.
func (c *ctlCLI) status(name string) ctlStatus {
	c.t.Helper()
	var s ctlStatus
	c.json(&s, "status", name)
	return s
}

// waitStatus polls `ctl status -o json` until cond holds.
func (c *ctlCLI) waitStatus(what, name string, cond func(ctlStatus) bool) ctlStatus {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		s := c.status(name)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s; run %d is %s: %v", what, s.Run.ID, s.Run.State, s.Run.Counts)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// ctlContains fails the test (and goes on) for each want text lacks.
func ctlContains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// ctlBuild builds the real campaignbot binary.
func ctlBuild(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on PATH: %w", err)
	}
	out := filepath.Join(dir, "campaignbot")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "github.com/campaignbot/campaignbot/cmd/campaignbot")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build campaignbot: %w\n%s", err, b)
	}
	return out, nil
}

// ctlCreateToken runs `campaignbot tokens create` against the stack's
// database, as an operator bootstraps the API.
func ctlCreateToken(t *testing.T, bin, dbURL, name, scope string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "tokens", "create", "--name", name, "--scope", scope, "--created-by", "e2e-operator")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DATABASE_URL=" + dbURL, "CAMPAIGN_LOG_LEVEL=warn"}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("campaignbot tokens create %s: %v\n%s", name, err, errOut.String())
	}
	tok := strings.TrimSpace(out.String())
	if !strings.HasPrefix(tok, api.TokenPrefix) {
		t.Fatalf("tokens create printed %q", out.String())
	}
	return tok
}

// ctlPRs are the campaign's pull requests on GitHub, by repository.
func ctlPRs(w *world) map[string]ctlPR {
	out := map[string]ctlPR{}
	for _, p := range w.demo.Projects {
		for _, n := range w.Fake.PullRequests(demo.Org, p.Name) {
			pr, err := w.Fake.PullRequest(demo.Org, p.Name, n)
			if err != nil {
				w.t.Fatal(err)
			}
			if strings.HasPrefix(pr.Head, spec.BranchPrefix) {
				out[p.FullName()] = ctlPR{state: pr.State, comments: pr.Comments}
			}
		}
	}
	return out
}

// ctlPR is what the test reads of a campaign pull request.
type ctlPR struct {
	state    string
	comments []string
}

// ctlOpen counts the open ones.
func ctlOpen(prs map[string]ctlPR) int {
	n := 0
	for _, pr := range prs {
		if pr.state == "open" {
			n++
		}
	}
	return n
}

// ctlFailing are the targets on Go 1.22, whose toolchain check fails.
func ctlFailing(w *world) []string {
	var out []string
	for _, p := range w.demo.Projects {
		if p.Targeted() && p.GoVersion == "1.22" {
			out = append(out, p.FullName())
		}
	}
	sort.Strings(out)
	return out
}

// ctlInFlight counts the run's changesets not yet settled (docs/api/cli.md, "Waiting").
func ctlInFlight(r api.Run) int {
	n := 0
	for _, s := range []string{"pending", "queued", "running", "patch_ready", "publishing"} {
		n += r.Counts[s]
	}
	return n
}

// TestCtlDrivesARunThroughTheAPI drives a run of the demo organisation
// with `campaignbot ctl` only — the real binary, talking to the server's
// REST API with a token an operator created — while people approve and
// merge on GitHub (the API cannot approve): validate and plan before the
// proposal, list and status after the merge, a pause that holds the
// later waves (checked on GitHub), resume --wait, the failed changesets
// and their logs, retry --wait, cancel closing the pull requests with a
// comment, and the audit log naming the token on every action. Exit
// codes are the documented ones (docs/api/cli.md).
func TestCtlDrivesARunThroughTheAPI(t *testing.T) {
	t.Parallel()
	start := time.Now()
	type built struct {
		bin string
		err error
	}
	binc := make(chan built, 1)
	binDir := t.TempDir()
	go func() {
		bin, err := ctlBuild(binDir)
		binc <- built{bin, err}
	}()
	w := newWorld(t, setup{repos: ctlRepos, specYAML: ctlSpecYAML})
	b := <-binc
	if b.err != nil {
		t.Fatal(b.err)
	}
	t.Logf("stack up and binary built in %s", time.Since(start).Round(time.Millisecond))

	writeToken := ctlCreateToken(t, b.bin, w.Config.DatabaseURL, "ctl-e2e", "write")
	readToken := ctlCreateToken(t, b.bin, w.Config.DatabaseURL, "ctl-reader", "read")
	ctl := &ctlCLI{t: t, bin: b.bin, home: t.TempDir(), url: w.Server.URL, token: writeToken}
	reader := ctl.as(readToken)
	const name = ctlSpecName
	failing := ctlFailing(w)
	changed := len(w.demo.Changed()) - len(failing)
	targeted := len(w.demo.Targeted())

	// Before the proposal: offline validation and the server's plan.
	dir := t.TempDir()
	specPath := filepath.Join(dir, name+".yaml")
	badPath := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(specPath, []byte(ctlSpecYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badPath, []byte(strings.Replace(ctlSpecYAML, "maxOpenPRs: 500", "maxOpenPRs: 0", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctlContains(t, "validate", ctl.expect(0, "validate", specPath).stdout, "1 spec file(s) valid")
	ctlContains(t, "validate of a bad spec", ctl.expect(1, "validate", badPath).stdout, "bad.yaml:", "maxOpenPRs")
	var plan api.PlanPreview
	ctl.json(&plan, "plan", specPath)
	if !plan.Valid || plan.Name != name || plan.Change != "added" || plan.Targets == nil ||
		!slices.Equal(plan.Targets.Repositories, w.demo.Targeted()) || plan.Path != "campaigns/"+name+".yaml" {
		t.Fatalf("plan -o json: %+v", plan)
	}
	if !slices.ContainsFunc(plan.Targets.Excluded, func(x api.Exclusion) bool {
		return x.Repository == "octo-org/legacy-payroll" && strings.Contains(x.Reason, "octo-org/legacy-*")
	}) {
		t.Errorf("plan exclusions: %+v", plan.Targets.Excluded)
	}
	// A read token may plan: it changes nothing.
	ctlContains(t, "plan", reader.expect(0, "plan", specPath, "--show", "3").stdout,
		"campaign "+name+": new", fmt.Sprintf("targets: %d repositories", targeted), "octo-org/api-gateway", "… and 7 more")
	ctlContains(t, "plan of a bad spec", ctl.expect(1, "plan", badPath).stdout, "campaigns/"+name+".yaml:", "invalid, nothing planned")
	ctl.expect(2, "plan", filepath.Join(dir, "missing.yaml"))
	ctlContains(t, "list before the merge", ctl.expect(0, "list").stdout, "no campaigns yet")
	ctlContains(t, "status before the merge", ctl.expect(4, "status", name).stderr, `no campaign named "`+name+`"`)

	// On GitHub, as people: the proposal, its plan check, the maintainer's approval and merge.
	check := w.propose()
	if want := fmt.Sprintf("%d repositories match", targeted); check.Conclusion != "success" || check.Title != want {
		t.Fatalf("plan check: %s %q, want %q", check.Conclusion, check.Title, want)
	}
	runID := w.approveAndMerge()

	var camps []api.Campaign
	ctl.json(&camps, "list")
	if len(camps) != 1 || camps[0].Name != name || camps[0].LatestVersion != 1 || camps[0].LatestRun == nil || camps[0].LatestRun.ID != runID {
		t.Fatalf("list -o json: %+v", camps)
	}
	ctlContains(t, "list", ctl.expect(0, "list").stdout, "NAME", name, fmt.Sprint(runID))

	// Pause as soon as the first pull request is open: the later waves are held.
	w.waitUntil("the first pull request", func() (bool, string) {
		n := ctlOpen(ctlPRs(w))
		return n > 0, fmt.Sprintf("%d open", n)
	})
	var paused api.ActionResult
	ctl.json(&paused, "pause", name, "--reason", "reading the first pull requests")
	if paused.Action != "pause" || !paused.Changed || paused.Run.ID != runID || paused.Run.State != "paused" {
		t.Fatalf("pause -o json: %+v", paused)
	}
	// What was executing or publishing at the pause finishes; then nothing moves.
	held := ctl.waitStatus("the tasks in flight at the pause to settle", name, func(s ctlStatus) bool {
		return s.Run.Counts["running"]+s.Run.Counts["publishing"] == 0
	})
	prs := ctlPRs(w)
	t.Logf("held by the pause: %v, %d pull requests open", held.Run.Counts, ctlOpen(prs))
	if waiting := held.Run.Counts["pending"] + held.Run.Counts["queued"] + held.Run.Counts["patch_ready"]; waiting == 0 || held.Run.State != "paused" {
		t.Fatalf("the pause holds nothing: %s %v", held.Run.State, held.Run.Counts)
	}
	for range 8 {
		time.Sleep(250 * time.Millisecond)
		now := ctl.status(name)
		if !maps.Equal(now.Run.Counts, held.Run.Counts) || now.Run.State != "paused" {
			t.Fatalf("the paused run moved: %v -> %s %v", held.Run.Counts, now.Run.State, now.Run.Counts)
		}
		if got := ctlPRs(w); len(got) != len(prs) || ctlOpen(got) != ctlOpen(prs) {
			t.Fatalf("GitHub got pull requests while paused: %d, then %d", len(prs), len(got))
		}
	}
	ctlContains(t, "status of the paused run", ctl.expect(0, "status", name).stdout,
		fmt.Sprintf("run %d (spec version 1) · PAUSED", runID),
		"paused: paused by @api:ctl-e2e: reading the first pull requests (campaignbot ctl resume "+name+")")
	var again api.ActionResult
	ctl.json(&again, "pause", name)
	if again.Changed || again.Run.State != "paused" {
		t.Fatalf("pausing a paused run: %+v", again)
	}
	ctlContains(t, "pause with a read token", reader.expect(3, "pause", name).stderr, "needs a write token")

	// Resume and follow the run until nothing is in flight: every wave ran.
	r := ctl.start(2*time.Minute, "resume", name, "--wait", "--wait-timeout", "90s")()
	if r.code != 0 {
		t.Fatalf("resume --wait:\n%s", r)
	}
	ctlContains(t, "resume --wait", r.stdout, fmt.Sprintf("run %d of %s: resume (was paused, now running)", runID, name), fmt.Sprintf("run %d is running", runID))
	done := ctl.status(name)
	if c := done.Run.Counts; ctlInFlight(done.Run) != 0 || c["failed"] != len(failing) || c["published"] != changed || c["no_changes"] != 1 || done.Run.Total != targeted {
		t.Fatalf("after resume --wait: %s %v", done.Run.State, c)
	}
	if prs := ctlPRs(w); len(prs) != changed || ctlOpen(prs) != changed {
		t.Fatalf("%d campaign pull requests (%d open) on GitHub, want %d", len(prs), ctlOpen(prs), changed)
	}

	// The failed changesets, their task ids and the failing step's output.
	var failed []api.Changeset
	ctl.json(&failed, "changesets", name, "--state", "failed")
	var failedRepos []string
	for _, c := range failed {
		failedRepos = append(failedRepos, c.Repository)
		if c.State != "failed" || !strings.Contains(c.Error, `step "check toolchain" failed with exit code 3`) || c.PRNumber != 0 {
			t.Errorf("failed changeset %+v", c)
		}
	}
	if !slices.Equal(failedRepos, failing) {
		t.Fatalf("changesets --state failed: %v, want %v", failedRepos, failing)
	}
	out := ctl.expect(0, "changesets", name, "--state", "failed").stdout
	ctlContains(t, "changesets --state failed", out, fmt.Sprintf("%d changeset(s) of run %d", len(failing), runID), failed[0].ID, failing[0])
	ctlContains(t, "status with failures", ctl.expect(0, "status", name).stdout,
		fmt.Sprintf("failed (%d):", len(failing)), failed[0].ID, "logs: campaignbot ctl logs TASK")
	logs := ctl.expect(0, "logs", failed[0].ID)
	ctlContains(t, "logs", logs.stdout, "go.mod pins go 1.22: upgrade it by hand before Go 1.26")
	ctlContains(t, "logs' stderr", logs.stderr, failing[0]+" · failed")
	var logsJSON api.Logs
	ctl.json(&logsJSON, "logs", failed[0].ID)
	if logsJSON.TaskID != failed[0].ID || !strings.Contains(logsJSON.LogTail, "go.mod pins go 1.22") {
		t.Errorf("logs -o json: %+v", logsJSON)
	}
	ctl.expect(4, "logs", "00000000-0000-0000-0000-000000000000")

	// Retry follows the retried changesets to their end: the check fails
	// again (the repositories did not change), which retry --wait reports.
	before := time.Now()
	r = ctl.start(2*time.Minute, "retry", name, "--wait", "--wait-timeout", "90s")()
	if r.code != 1 {
		t.Fatalf("retry --wait of changesets that fail again: want exit 1\n%s", r)
	}
	ctlContains(t, "retry --wait", r.stdout, fmt.Sprintf("%d changeset(s) queued again", len(failing)))
	ctlContains(t, "retry --wait", r.stderr, fmt.Sprintf("%d of %d retried changeset(s) failed again", len(failing), len(failing)))
	var retried []api.Changeset
	ctl.json(&retried, "changesets", name, "--state", "failed")
	for _, c := range retried {
		if !c.UpdatedAt.After(before) || c.Attempts != 1 {
			t.Errorf("%s was not executed again: %+v", c.Repository, c)
		}
	}
	if len(retried) != len(failing) {
		t.Fatalf("after the retry: %d failed changesets", len(retried))
	}

	// Cancel, with a live dashboard watching: the open pull requests are
	// closed with a comment on GitHub and the watch ends with the run.
	watch := ctl.start(2*time.Minute, "status", name, "--watch", "--interval", "1s")
	ctlContains(t, "cancel without --yes", ctl.expect(2, "cancel", name).stderr, "--yes")
	var cancelled api.ActionResult
	ctl.json(&cancelled, "cancel", name, "--yes", "--reason", "superseded by go-1-27")
	if !cancelled.Changed || cancelled.ClosingPRs != changed || cancelled.Run.State != "cancelled" {
		t.Fatalf("cancel -o json: %+v", cancelled)
	}
	w.waitUntil("every campaign pull request closed with a comment", func() (bool, string) {
		prs := ctlPRs(w)
		for repo, pr := range prs {
			if pr.state != "closed" || len(pr.comments) == 0 {
				return false, fmt.Sprintf("%s: %s, %d comments", repo, pr.state, len(pr.comments))
			}
		}
		return len(prs) == changed, fmt.Sprintf("%d pull requests", len(prs))
	})
	for repo, pr := range ctlPRs(w) {
		last := pr.comments[len(pr.comments)-1]
		if !strings.Contains(last, "**"+name+"** was cancelled (cancelled by @api:ctl-e2e: superseded by go-1-27)") {
			t.Errorf("%s: closing comment %q", repo, last)
		}
	}
	wr := watch()
	if wr.code != 0 || strings.Count(wr.stdout, "campaign "+name+" · run") < 2 || !strings.Contains(wr.stdout, "· CANCELLED") {
		t.Fatalf("status --watch did not follow the run to its cancellation:\n%s", wr)
	}
	final := ctl.waitStatus("the pull requests' tasks closed", name, func(s ctlStatus) bool { return s.Run.Counts["closed"] == changed })
	if final.Run.State != "cancelled" || final.Run.FinishedAt == nil {
		t.Fatalf("after cancel: %+v", final.Run)
	}
	// A cancelled run refuses what its state forbids (409: exit 5).
	ctlContains(t, "pause of a cancelled run", ctl.expect(5, "pause", name).stderr, "nothing to pause")
	ctlContains(t, "retry of a cancelled run", ctl.expect(5, "retry", name).stderr, "cancelled")

	// The audit log: every action, with the token's name as the actor.
	var entries []api.AuditEntry
	ctl.json(&entries, "audit", "--campaign", name, "--limit", "100")
	var got []string
	for _, e := range entries {
		if e.Details["campaign"] != name {
			t.Errorf("audit entry %d lacks the campaign: %+v", e.ID, e)
		}
		got = append(got, e.Actor+" "+e.Action+" "+e.Outcome)
	}
	slices.Reverse(got)
	want := []string{
		demo.Maintainer + " approve accepted",
		"api:ctl-e2e pause accepted",
		"api:ctl-e2e pause accepted", // the second one changed nothing
		"api:ctl-reader pause refused",
		"api:ctl-e2e resume accepted",
		"api:ctl-e2e retry accepted",
		"api:ctl-e2e cancel accepted",
		"api:ctl-e2e pause refused",
		"api:ctl-e2e retry refused",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit --campaign %s:\n got %q\nwant %q", name, got, want)
	}
	ctlContains(t, "audit", ctl.expect(0, "audit", "--campaign", name).stdout, "ACTOR", "api:ctl-e2e", "cancel", "superseded by go-1-27", fmt.Sprintf("run:%d", runID))
	var byReader []api.AuditEntry
	ctl.json(&byReader, "audit", "--actor", "api:ctl-reader")
	if len(byReader) != 1 || byReader[0].Action != "pause" || byReader[0].Outcome != "refused" {
		t.Errorf("audit --actor api:ctl-reader: %+v", byReader)
	}

	// Tokens and the remaining exit codes.
	var toks []api.Token
	ctl.json(&toks, "tokens", "list")
	if len(toks) != 2 || toks[0].Name != "ctl-e2e" || toks[1].Name != "ctl-reader" || toks[0].LastUsedAt == nil {
		t.Errorf("tokens list -o json: %+v", toks)
	}
	reader.expect(3, "tokens", "list")
	ctl.as("cbt_not-a-token").expect(3, "list")
	ctl.expect(4, "status", "no-such-campaign")
	ctl.expect(2, "frobnicate")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	ctlContains(t, "an unreachable server", ctl.expect(6, "list", "--server", dead, "--timeout", "1s").stderr, "cannot reach the API")
	t.Logf("ctl drove run %d end to end in %s", runID, time.Since(start).Round(time.Millisecond))
}
