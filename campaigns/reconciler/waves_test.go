package reconciler_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/reconciler"
	"github.com/campaignbot/campaignbot/store"
)

type runSets []store.Changeset

func (r runSets) RunChangesets(context.Context, int64) ([]store.Changeset, error) { return r, nil }

func cs(repo string, wave int, state, ci string) store.Changeset {
	return store.Changeset{Task: store.RepoTask{Repository: repo, Wave: wave, State: state}, CIState: ci}
}

func checked(c store.Changeset) store.Changeset {
	now := time.Now()
	c.PRCheckedAt = &now
	return c
}

func TestWaveReadyWaitsForCIOfEarlierWaves(t *testing.T) {
	for _, tc := range []struct {
		name             string
		sets             runSets
		wave             int
		ready            bool
		waiting, failing []string
	}{
		{"first wave never waits", runSets{cs("a", 0, "published", "")}, 0, true, nil, nil},
		{"passing and merged", runSets{cs("a", 0, "published", "passing"), cs("b", 0, "merged", ""), cs("c", 1, "queued", "")}, 1, true, nil, nil},
		{"pending CI", runSets{cs("a", 0, "published", "pending"), cs("b", 0, "published", "")}, 1, false, []string{"a", "b"}, nil},
		{"no checks at all when read", runSets{checked(cs("a", 0, "published", ""))}, 1, true, nil, nil},
		{"still publishing", runSets{cs("a", 0, "publishing", "")}, 1, false, []string{"a"}, nil},
		{"failing", runSets{cs("a", 0, "published", "failing"), cs("b", 0, "no_changes", "")}, 1, false, nil, []string{"a"}},
		{"ended without a pull request", runSets{cs("a", 0, "failed", ""), cs("b", 0, "closed", ""), cs("c", 0, "skipped", "")}, 1, true, nil, nil},
		{"every earlier wave counts", runSets{cs("a", 0, "published", "pending"), cs("b", 1, "merged", "")}, 2, false, []string{"a"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := reconciler.NewWaves(tc.sets, nil).Ready(context.Background(), 1, tc.wave)
			if err != nil {
				t.Fatal(err)
			}
			if got.Ready != tc.ready || !slices.Equal(got.Waiting, tc.waiting) || !slices.Equal(got.Failing, tc.failing) {
				t.Fatalf("Ready = %+v, want ready=%v waiting=%v failing=%v", got, tc.ready, tc.waiting, tc.failing)
			}
		})
	}
}
