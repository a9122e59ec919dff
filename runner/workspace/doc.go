// Package workspace holds the mechanics every runner.Executor shares: a
// hardened, token-scrubbed shallow checkout of one commit (Clone), the
// collection of what the steps changed into a runner.Result with the
// policy and limit checks (Collect), and a bounded log buffer
// (TailBuffer).
//
// Every git process runs with a minimal environment built here (no
// global or system config, no terminal prompts, hooks disabled, the
// file:// transport refused) so that neither the worker's configuration
// nor the checked-out repository can make git run a command. The token
// reaches git only through the environment of the one fetch process
// (GIT_CONFIG_COUNT/KEY/VALUE, an http.extraHeader): never the command
// line, .git/config or any file, and it is scrubbed from git's stderr
// before that text is put in an error.
package workspace
