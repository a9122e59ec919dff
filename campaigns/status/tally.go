package status

import (
	"cmp"
	"slices"

	"github.com/campaignbot/campaignbot/store"
)

// Tally is a run's tasks counted the way the dashboard counts them, for
// other renderings of the same run (the Slack message).
type Tally struct {
	Total, Done int
	// ByState counts tasks per state.
	ByState map[string]int
	// States lists the states present, what needs a person first.
	States []string
}

// Count tallies tasks: Done counts tasks final or with their PR open.
func Count(tasks []store.RepoTask) Tally {
	t := Tally{Total: len(tasks), ByState: map[string]int{}}
	for _, task := range tasks {
		t.ByState[task.State]++
		if doneTaskStates[task.State] {
			t.Done++
		}
	}
	for s := range t.ByState {
		t.States = append(t.States, s)
	}
	slices.SortFunc(t.States, func(a, b string) int { return cmp.Compare(stateRank(a), stateRank(b)) })
	return t
}

// Percent is Done as a percentage of Total (100 for an empty run).
func (t Tally) Percent() int { return percent(t.Done, t.Total) }

// Bar draws Done/Total as a text bar width characters wide.
func (t Tally) Bar(width int) string { return bar(t.Done, t.Total, width) }
