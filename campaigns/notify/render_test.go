package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func view(state string, tasks ...store.RepoTask) store.RunView {
	return store.RunView{
		Run:          store.Run{ID: 42, State: state, ControlSHA: "0123456789abcdef0123456789abcdef01234567"},
		CampaignName: "bump-go", ControlRepo: "octo-org/platform", SpecVersion: 3, CheckRunID: 7,
		Tasks: tasks,
	}
}

func task(repo, state string, wave int) store.RepoTask {
	t := store.RepoTask{Repository: repo, State: state, Wave: wave}
	if state == "published" || state == "merged" || state == "closed" {
		t.PRNumber, t.PRURL = 5, "https://github.com/"+repo+"/pull/5"
	}
	if state == store.TaskFailed {
		t.Error = "step bump exited 1"
	}
	return t
}

func TestRenderGolden(t *testing.T) {
	running := view(store.RunRunning, task("octo-org/a", store.TaskFailed, 0), task("octo-org/b", "published", 0),
		task("octo-org/c", store.TaskQueued, 1), task("octo-org/d", store.TaskRunning, 1))
	paused := running
	paused.Run.State, paused.PausedReason = store.RunPaused, "failure rate 50% > 20% <@channel>"
	cases := []struct {
		name string
		in   View
	}{
		{"running", View{Run: running, Throttle: &status.Throttle{Reason: "500/h installation limit", NextIn: "42 s"}}},
		{"paused_frozen", View{Run: paused, Frozen: true, FrozenReason: "incident 123"}},
		{"awaiting", View{Run: view(store.RunAwaitingApproval), WebURL: "https://ghe.example.com/"}},
		{"completed", View{Run: view(store.RunCompleted, task("octo-org/a", "merged", 0), task("octo-org/b", store.TaskFailed, 0), task("octo-org/c", "closed", 0))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := Render(c.in)
			var got bytes.Buffer
			enc := json.NewEncoder(&got)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string]any{"text": m.Text, "blocks": m.Blocks}); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", c.name+".golden.json"), got.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs (run with -update if intended):\n%s", path, got)
	}
}

func TestRenderHashIgnoresNothingVisible(t *testing.T) {
	a := Render(View{Run: view(store.RunRunning, task("octo-org/a", store.TaskQueued, 0))})
	b := Render(View{Run: view(store.RunRunning, task("octo-org/a", store.TaskQueued, 0))})
	c := Render(View{Run: view(store.RunRunning, task("octo-org/a", store.TaskNoChanges, 0))})
	if a.Hash() != b.Hash() {
		t.Fatal("the same run renders with different hashes")
	}
	if a.Hash() == c.Hash() {
		t.Fatal("a task that finished did not change the hash")
	}
}

func TestRenderManyStatesStayInsideBlockKitLimits(t *testing.T) {
	var tasks []store.RepoTask
	for i, s := range []string{"failed", "publishing", "published", "merged", "closed", "patch_ready", "running", "queued", "pending", "no_changes", "skipped", "superseded", "odd"} {
		tasks = append(tasks, task(fmt.Sprintf("octo-org/r%d", i), s, 0))
	}
	v := view(store.RunRunning, tasks...)
	v.CampaignName = strings.Repeat("x", 400)
	m := Render(View{Run: v})
	fields := 0
	for _, b := range m.Blocks {
		raw, _ := json.Marshal(b)
		var s struct {
			Fields []any `json:"fields"`
			Text   struct {
				Type, Text string
			} `json:"text"`
		}
		_ = json.Unmarshal(raw, &s)
		if len(s.Fields) > maxFields {
			t.Fatalf("a section has %d fields; Block Kit allows %d", len(s.Fields), maxFields)
		}
		if s.Text.Type == "plain_text" && len(s.Text.Text) > 150 {
			t.Fatalf("header of %d characters", len(s.Text.Text))
		}
		fields += len(s.Fields)
	}
	if fields != len(tasks) {
		t.Fatalf("%d state fields for %d states", fields, len(tasks))
	}
}

func TestNotices(t *testing.T) {
	failingCanary := view(store.RunRunning, task("octo-org/a", store.TaskFailed, 0), task("octo-org/b", store.TaskQueued, 1))
	paused := failingCanary
	paused.Run.State, paused.PausedReason = store.RunPaused, "failure rate 50% over 20%"
	done := view(store.RunCompleted, task("octo-org/a", "merged", 0), task("octo-org/b", store.TaskFailed, 0))
	autoPaused := paused
	autoPaused.PausedReason = "paused automatically: 3 of 5 finished tasks failed (60%, rollout.pauseOnFailureRate is 20%)"
	cases := []struct {
		name   string
		in     View
		before seen
		want   []string // keys
		text   string   // in the first notice
	}{
		{"approval once", View{Run: view(store.RunAwaitingApproval)}, seen{}, []string{"approval"}, "octo-org/platform-admins"},
		{"approval posted already", View{Run: view(store.RunAwaitingApproval)}, seen{posted: map[string]bool{"approval": true}}, nil, ""},
		{"canary failing", View{Run: failingCanary}, seen{exists: true, runState: store.RunRunning}, []string{"wave_failing:0"}, "Canary wave 1 is failing"},
		{"auto-pause", View{Run: paused}, seen{exists: true, runState: store.RunRunning, posted: map[string]bool{"wave_failing:0": true}}, []string{"paused:1"}, "Auto-paused on the failure rate"},
		{"auto-pause as the orchestrator words it", View{Run: autoPaused}, seen{exists: true, runState: store.RunRunning, posted: map[string]bool{"wave_failing:0": true}}, []string{"paused:1"}, "Auto-paused on the failure rate"},
		{"paused again", View{Run: paused}, seen{exists: true, runState: store.RunRunning, posted: map[string]bool{"wave_failing:0": true, "paused:1": true}}, []string{"paused:2"}, "Auto-paused"},
		{"still paused", View{Run: paused}, seen{exists: true, runState: store.RunPaused, posted: map[string]bool{"wave_failing:0": true, "paused:1": true}}, nil, ""},
		{"frozen", View{Run: view(store.RunRunning), Frozen: true, FrozenReason: "incident"}, seen{exists: true, runState: store.RunRunning}, []string{"frozen:1"}, "Kill switch on"},
		{"unfrozen", View{Run: view(store.RunRunning)}, seen{exists: true, runState: store.RunRunning, frozen: true, posted: map[string]bool{"frozen:1": true}}, []string{"unfrozen:1"}, "Kill switch off"},
		{"never frozen on first post", View{Run: view(store.RunRunning)}, seen{}, nil, ""},
		{"completion", View{Run: done}, seen{exists: true, runState: store.RunRunning}, []string{"completed"}, "merged 1, closed 0, failed 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := notices(c.in, []string{"octo-org/platform-admins"}, c.before)
			var keys []string
			for _, n := range got {
				keys = append(keys, n.Key)
			}
			if fmt.Sprint(keys) != fmt.Sprint(c.want) {
				t.Fatalf("notices %v, want %v", keys, c.want)
			}
			if c.text != "" && !strings.Contains(got[0].Message.Text, c.text) {
				t.Fatalf("notice %q lacks %q", got[0].Message.Text, c.text)
			}
		})
	}
}

func TestCompletionLinksFailedOnes(t *testing.T) {
	var tasks []store.RepoTask
	for i := range 25 {
		tasks = append(tasks, task(fmt.Sprintf("octo-org/r%02d", i), store.TaskFailed, 0))
	}
	v := view(store.RunCompleted, tasks...)
	got := notices(View{Run: v}, nil, seen{exists: true})
	if len(got) != 1 {
		t.Fatalf("%d notices", len(got))
	}
	text := got[0].Message.Text
	for _, want := range []string{"<https://github.com/octo-org/r00|octo-org/r00>", "and 5 more", "failed 25", "<https://github.com/octo-org/platform/runs/7|Dashboard>"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
}
