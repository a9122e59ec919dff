package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/campaignbot/campaignbot/fixtures/specs"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/tests/stack"
)

// slowSpec is the sample spec with a first step that takes a while, so
// that a fault lands while repositories are being executed.
func slowSpec(seconds int) string {
	return strings.Replace(string(specs.Sandbox), "steps:\n",
		fmt.Sprintf("steps:\n  - name: think\n    image: alpine:3.20\n    run: sleep %d\n    timeout: 1m\n", seconds), 1)
}

// TestWorkerKilledMidRun: the worker is a real process, SIGKILLed while
// it executes; a new worker finishes the run from the database alone.
func TestWorkerKilledMidRun(t *testing.T) {
	w := newWorld(t, setup{specYAML: slowSpec(3), opts: stack.Options{NoWorker: true}})
	child := startChildWorker(t, w.Config)
	w.propose()
	w.approveAndMerge()
	w.waitUntil("repositories executing in the child worker", func() (bool, string) {
		c := counts(w.tasks())
		return c[store.TaskRunning] > 0, fmt.Sprint(c)
	})
	child.kill(t)
	before := counts(w.tasks())
	t.Logf("killed the worker with tasks %v", before)

	w.StartWorker()
	ts := w.waitPublished()
	w.assertOnePRPerChangedRepo(ts)
	w.waitDashboard(len(ts))
}
