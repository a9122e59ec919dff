package status

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/store"
)

// The headline says how far the rollout is and, once pull requests exist,
// how many of them landed; each row notes what needs a person.
func TestRenderHeadlineAndNotes(t *testing.T) {
	task := func(repo, state string, pr int) store.RepoTask {
		t := store.RepoTask{ID: uuid.New(), Repository: repo, State: state, PRNumber: pr}
		if pr > 0 {
			t.PRURL = "https://github.test/" + repo + "/pull/1"
		}
		return t
	}
	edited, closed, behind := task("o/edited", store.TaskPublished, 3), task("o/closed", store.TaskClosed, 4), task("o/behind", store.TaskPublished, 5)
	v := store.RunView{Run: store.Run{ID: 7, State: store.RunRunning}, CampaignName: "go-1-26", SpecVersion: 1,
		Tasks: []store.RepoTask{
			task("o/a", store.TaskMerged, 1), task("o/b", store.TaskMerged, 2), edited, closed, behind,
			task("o/current", store.TaskNoChanges, 0), task("o/queued", store.TaskQueued, 0),
		},
		Tracking: map[uuid.UUID]store.Tracking{
			edited.ID: {PRState: "open", HumanEdited: true},
			closed.ID: {PRState: "closed", ClosedBy: "devon"},
			behind.ID: {PRState: "open", Behind: true},
		}}
	d := Render(v, nil)
	if want := "running: 6/7 repositories done, 2/5 pull requests merged"; d.Title != want {
		t.Errorf("title %q, want %q", d.Title, want)
	}
	for _, want := range []string{
		"| merged | 2 |", "| closed | 1 |", "| published | 2 |",
		"| o/edited | published | [#3](https://github.test/o/edited/pull/1) | human edit: automation stopped |",
		"| o/closed | closed | [#4](https://github.test/o/closed/pull/1) | closed by devon |",
		"| o/behind | published | [#5](https://github.test/o/behind/pull/1) | behind base |",
	} {
		if !strings.Contains(d.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, d.Summary)
		}
	}

	// Before any pull request the headline has no merge count.
	early := store.RunView{Run: store.Run{State: store.RunRunning}, Tasks: []store.RepoTask{task("o/a", store.TaskQueued, 0)}}
	if got := Render(early, nil).Title; got != "running: 0/1 repositories done" {
		t.Errorf("title before pull requests %q", got)
	}
	// After verification the headline is where the change landed.
	now := time.Now()
	v.Run.State, v.VerifiedAt, v.Landed = store.RunCompleted, &now, 3
	if got := Render(v, nil).Title; got != "completed: landed in 3/7 repositories" {
		t.Errorf("verified title %q", got)
	}
}
