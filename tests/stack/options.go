package stack

import (
	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
)

// Options adjust what NewWith starts.
type Options struct {
	// Fake are githubfake options (limits, middleware, a clock).
	Fake []githubfake.Option
	// Worker are the options of the worker NewWith starts.
	Worker []app.WorkerOption
	// NoWorker leaves the worker to the test (a child process, say).
	NoWorker bool
}
