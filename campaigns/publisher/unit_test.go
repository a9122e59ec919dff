package publisher

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
)

func TestTrailers(t *testing.T) {
	head, body := commitMessage("Bump Go\n\nBecause.\n", 42, "abc")
	if head != "Bump Go" || body != "Because.\n\nCampaignbot-Campaign: 42\nCampaignbot-Patch: abc" {
		t.Fatalf("%q %q", head, body)
	}
	for _, c := range []struct {
		msg   string
		patch string
		ours  bool
	}{
		{head + "\n\n" + body, "abc", true},
		{"x\n\nCampaignbot-Campaign: 43\nCampaignbot-Patch: abc", "", false},
		{"fix by hand", "", false},
		{"x\n\nCampaignbot-Campaign: 42\nCampaignbot-Patch: abc\n\nmore text", "", false},
	} {
		if p, ok := madeBy(c.msg, 42); p != c.patch || ok != c.ours {
			t.Errorf("madeBy(%q) = %q %v", c.msg, p, ok)
		}
	}
}

func TestSimpleChanges(t *testing.T) {
	for _, c := range []struct {
		fc   runner.FileChange
		want bool
	}{
		{runner.FileChange{Mode: runner.ModeFile}, true},
		{runner.FileChange{Mode: runner.ModeFile, OldMode: runner.ModeFile}, true},
		{runner.FileChange{Mode: runner.ModeExecutable}, false},
		{runner.FileChange{Mode: runner.ModeFile, OldMode: runner.ModeExecutable}, false},
		{runner.FileChange{Mode: runner.ModeSymlink}, false},
		{runner.FileChange{Mode: runner.ModeFile, OldMode: runner.ModeSymlink}, false},
	} {
		if got := simple(&runner.Result{Changed: []runner.FileChange{c.fc}}); got != c.want {
			t.Errorf("simple(%+v) = %v", c.fc, got)
		}
	}
}

func TestOwnBranch(t *testing.T) {
	in := &Input{CampaignID: 42, Repository: "Acme/Repo.One"}
	for name, want := range map[string]bool{
		"campaign/42/1/acme-repo.one":   true,
		"campaign/42/17/acme-repo.one":  true,
		"campaign/42/x/acme-repo.one":   false,
		"campaign/42/1/acme-repo.two":   false,
		"campaign/420/1/acme-repo.one":  false,
		"campaign/42/1/acme-repo.one/x": false,
	} {
		if got := ownBranch(name, in); got != want {
			t.Errorf("ownBranch(%q) = %v", name, got)
		}
	}
}

func TestClassifyHTTP(t *testing.T) {
	resp := func(status int, h map[string]string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	var sl *secondaryLimit
	if err := classifyHTTP("x", resp(403, map[string]string{"Retry-After": "17"}), nil); !errors.As(err, &sl) || sl.wait != 17*time.Second {
		t.Errorf("403 retry-after: %v", err)
	}
	if err := classifyHTTP("x", resp(429, map[string]string{"Retry-After": "3"}), nil); !errors.As(err, &sl) || sl.wait != 3*time.Second {
		t.Errorf("429 retry-after: %v", err)
	}
	if err := classifyHTTP("x", resp(403, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "1800000000"}), nil); !errors.As(err, &sl) || !sl.primary || sl.reset.Unix() != 1800000000 {
		t.Errorf("403 primary: %v", err)
	}
	if err := classifyHTTP("x", resp(403, nil), []byte(`{"message":"You have exceeded a secondary rate limit."}`)); !errors.As(err, &sl) || sl.wait != time.Minute {
		t.Errorf("403 secondary without retry-after: %v", err)
	}
	var tr *transient
	if err := classifyHTTP("x", resp(502, nil), []byte("<html>")); !errors.As(err, &tr) {
		t.Errorf("502: %v", err)
	}
	var ge *GitHubError
	if err := classifyHTTP("x", resp(401, nil), []byte(`{"message":"Bad credentials"}`)); !errors.As(err, &ge) || ge.Message != "Bad credentials" {
		t.Errorf("401: %v", err)
	}
}
