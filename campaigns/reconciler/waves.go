package reconciler

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// WaveStore reads a run's changesets.
type WaveStore interface {
	RunChangesets(ctx context.Context, runID int64) ([]store.Changeset, error)
}

// Pauser pauses a run saying why (orchestrator.Control.Pause).
type Pauser interface {
	Pause(ctx context.Context, runID int64, actor, reason string) (bool, error)
}

// Waves supplies the CI signal of rollout.waves: the next wave waits until
// every pull request of the earlier waves has CI results — passing, or
// merged — (Ready; store.WaveCIReady is the same rule inside the
// orchestrator's wave gate) and a failing canary (wave 0) pauses the run,
// saying why.
type Waves struct {
	store  WaveStore
	pauser Pauser
	actor  string
}

// NewWaves returns the wave signal; pauser may be nil (no canary pause).
func NewWaves(st WaveStore, pauser Pauser) *Waves {
	return &Waves{store: st, pauser: pauser, actor: "campaignbot"}
}

// WaveCI is the CI picture of the waves before a wave.
type WaveCI struct {
	Ready   bool
	Waiting []string // repositories still without a result (CI pending, publishing, executing)
	Failing []string // repositories whose CI fails
}

// Ready reports whether wave may start: every task of the earlier waves is
// merged, has an open pull request whose CI passes, or ended without a
// pull request to wait for (no changes, failed, skipped, closed).
func (w *Waves) Ready(ctx context.Context, runID int64, wave int) (WaveCI, error) {
	sets, err := w.store.RunChangesets(ctx, runID)
	if err != nil {
		return WaveCI{}, err
	}
	return waveCI(sets, wave), nil
}

func waveCI(sets []store.Changeset, wave int) WaveCI {
	var out WaveCI
	for _, cs := range sets {
		if cs.Task.Wave >= wave {
			continue
		}
		switch cs.Task.State {
		case stateMerged, stateClosed, store.TaskNoChanges, store.TaskFailed, store.TaskSkipped, "cancelled", "superseded":
		case statePublished:
			switch {
			case cs.CIState == store.CIPassing, cs.CIState == "" && cs.PRCheckedAt != nil:
			case cs.CIState == store.CIFailing:
				out.Failing = append(out.Failing, cs.Task.Repository)
			default:
				out.Waiting = append(out.Waiting, cs.Task.Repository)
			}
		default:
			out.Waiting = append(out.Waiting, cs.Task.Repository)
		}
	}
	out.Ready = len(out.Waiting) == 0 && len(out.Failing) == 0
	return out
}

// ChangesetChanged implements Hook: a canary pull request whose CI fails
// pauses the run.
func (w *Waves) ChangesetChanged(ctx context.Context, cs store.Changeset) error {
	if cs.Task.Wave != 0 || cs.CIState != store.CIFailing || cs.Task.State != statePublished || w.pauser == nil {
		return nil // nothing to decide: no run read (the sweep calls this for every change)
	}
	sets, err := w.store.RunChangesets(ctx, cs.Task.RunID)
	if err != nil {
		return err
	}
	last := 0
	for _, s := range sets {
		last = max(last, s.Task.Wave)
	}
	if last == 0 {
		return nil // one wave: nothing to gate
	}
	canary := waveCI(sets, 1)
	reason := fmt.Sprintf("canary wave CI failing in %d repositories: %s", len(canary.Failing), strings.Join(first(canary.Failing, 5), ", "))
	paused, err := w.pauser.Pause(ctx, cs.Task.RunID, w.actor, reason)
	if err != nil {
		return err
	}
	if paused {
		zerolog.Ctx(ctx).Warn().Int64("run_id", cs.Task.RunID).Str("reason", reason).Msg("run paused: the canary wave fails CI")
	}
	return nil
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}
