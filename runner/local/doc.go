// Package local is the runner.Executor that runs a task's steps as local
// processes: for laptops, the sandbox role and tests. Each task gets a
// fresh temporary directory (removed afterwards) with a shallow checkout
// of the base commit; each step runs `sh -ec` in it with a scrubbed
// environment, a timeout that kills its whole process group, a bounded
// log, and, when bubblewrap is installed, inside a bwrap sandbox
// (read-only system, no network unless the step asks, no capabilities,
// a pids limit). docs/runner-local.md says what is contained with and
// without bubblewrap.
package local
