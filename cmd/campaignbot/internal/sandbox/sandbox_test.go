package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/fixtures/logbuf"
	"github.com/campaignbot/campaignbot/store/storetest"
)

// The tests play the story on a small organisation (8 repositories: four
// pull requests, one repository already current, the Node, legacy and
// archived ones left out) against the real PostgreSQL and Redis, as
// `make demo` does.
const testRepos = 8

var dbCounter atomic.Int64

// options are a story's options for a test: its own database name (so
// parallel tests and a running demo never share one), no terminal.
func options(t *testing.T) (Options, *logbuf.Buffer) {
	t.Helper()
	out := &logbuf.Buffer{}
	live := false
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the story:\n%s", out.String())
		}
	})
	return Options{
		Repos:       testRepos,
		DatabaseURL: storetest.AdminURL(),
		RedisURL:    storetest.RedisBaseURL(),
		Database:    fmt.Sprintf("campaignbot_sandbox_test_%d_%d", os.Getpid(), dbCounter.Add(1)),
		Addr:        "127.0.0.1:0",
		Out:         out,
		Live:        &live,
	}, out
}

// The sample story ends green, narrates every step and prints its
// figures; kept, it mints a token the REST API accepts for writes.
func TestDefaultStoryEndsAsPredictedAndKeeps(t *testing.T) {
	t.Parallel()
	o, out := options(t)
	o.Keep = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()

	exportRE := regexp.MustCompile(`export CAMPAIGN_API_URL=(\S+) CAMPAIGN_API_TOKEN=(\S+)`)
	deadline := time.After(3 * time.Minute)
	var m []string
	for m == nil {
		select {
		case err := <-done:
			t.Fatalf("the sandbox stopped before it was kept: %v", err)
		case <-deadline:
			t.Fatal("the story did not reach the kept state in 3 minutes")
		case <-time.After(100 * time.Millisecond):
		}
		if strings.Contains(out.String(), "press Ctrl-C to stop") {
			if m = exportRE.FindStringSubmatch(out.String()); m == nil {
				t.Fatal("a kept sandbox printed no CAMPAIGN_API_URL / CAMPAIGN_API_TOKEN line")
			}
		}
	}
	text := out.String()
	for _, want := range []string{
		"campaign plan: go-1-26: success — 5 repositories match",
		"alice, the author, comments /campaign approve",
		"cannot approve their own spec (four-eyes rule)",
		"✅ `/campaign approve go-1-26`: approved by @maria",
		"4 pull requests opened, 1 repositories already up to date, 0 failed",
		"the app said once that it stopped",
		"rebased within",
		"running: 5/5 repositories done, 1/4 pull requests merged",
		"wall time",
		"GitHub requests per published pull request",
		"GitHub requests the app made following the people's reactions",
		"secondary-limit errors   0",
		"✓ the story ended as predicted",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the story lacks %q", want)
		}
	}
	if strings.Contains(text, "✗") {
		t.Error("the story reports a difference from its prediction")
	}

	// The token drives the kept sandbox through the REST API.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m[1]+"/api/v1/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+m[2])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the kept sandbox's API: %v", err)
	}
	var who struct {
		Name  string `json:"name"`
		Scope string `json:"scope"`
	}
	err = json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || who.Scope != "write" {
		t.Errorf("whoami with the printed token: %d %+v %v", resp.StatusCode, who, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("a kept story that ended as predicted returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the kept sandbox did not stop within 30 s of its context ending")
	}
}

// A user's spec that changes another file, with the other drift
// policies (humanEdits: overwrite, baseChanged: ignore), runs green: the
// story predicts what those policies do.
func TestUserSpecEndsAsPredicted(t *testing.T) {
	t.Parallel()
	o, out := options(t)
	data, err := os.ReadFile("testdata/editorconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o.Spec, o.SpecName = data, "testdata/editorconfig.yaml"
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("Run: %v", err)
	}
	text := out.String()
	for _, want := range []string{
		"campaign plan: editorconfig: success",
		"5 pull requests opened, 0 repositories already up to date, 0 failed",
		"the person's commit was overwritten by the campaign's change (drift.humanEdits: overwrite)",
		"stays on its old base (drift.baseChanged: ignore)",
		"behind base",
		"✓ the story ended as predicted",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the story lacks %q", want)
		}
	}
}

// An invalid spec is refused before anything starts, with each problem at
// its line, and no panic.
func TestInvalidSpecIsRefusedUpFront(t *testing.T) {
	t.Parallel()
	o, out := options(t)
	data, err := os.ReadFile("testdata/invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o.Spec, o.SpecName = data, "testdata/invalid.yaml"
	start := time.Now()
	err = Run(context.Background(), o)
	if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "testdata/invalid.yaml has 3 problems") {
		t.Fatalf("Run = %v, want ErrInvalidSpec naming 3 problems", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing an invalid spec took %s: something started", d)
	}
	for _, want := range []string{
		"testdata/invalid.yaml is not a valid campaign spec",
		"testdata/invalid.yaml:9:5: unknown key `runn` (did you mean `run`?)",
		"testdata/invalid.yaml:11:13: `approval` must be one of required, none",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Missing services are reported in one line that says how to start them.
func TestUnreachableServicesSayHowToStartThem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, what   string
		db, redisURL string
	}{
		{"postgres", "PostgreSQL is not reachable", "postgres://127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2", storetest.RedisBaseURL()},
		{"redis", "Redis server is not reachable", storetest.AdminURL(), "redis://127.0.0.1:1/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := options(t)
			o.DatabaseURL, o.RedisURL = tc.db, tc.redisURL
			err := Run(context.Background(), o)
			if err == nil {
				t.Fatal("Run succeeded without its services")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.what) || !strings.Contains(msg, "make services") || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line saying %q and how to start it (make services)", msg, tc.what)
			}
		})
	}
}
