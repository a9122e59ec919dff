// Package orchestrator is the campaign service: it keeps campaigns and
// their spec versions in step with the control repository, and plans
// what a spec change will do. It has no HTTP in it: handlers read the
// control repository through GitHub and hand it a Snapshot.
package orchestrator
