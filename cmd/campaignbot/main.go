// Command campaignbot is the single binary of campaignbot; its subcommand
// chooses the role (server, worker, migrate, ...). It holds no logic: it
// parses flags, loads configuration and hands over to app/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `campaignbot — one change across many repositories, safely.

Usage:
  campaignbot <command> [flags]

Commands:
  server        serve GitHub webhooks, /healthz, /readyz and /metrics
  worker        process queued tasks (webhook deliveries, ...)
  migrate       create the database if needed and apply migrations
  dlq list      list tasks that failed for good (the dead-letter queue)
  dlq replay    put dead tasks back on the queue: dlq replay TASK_ID... | --all
  ctl validate  check campaign spec files offline (file:line:col: message)
  ctl ...       the REST API client: plan, list, status, changesets, logs, pause, resume,
                retry, cancel, audit, tokens (campaignbot ctl help; docs/api/cli.md)
  tokens create create an API token in the database (operator bootstrap): --name N --scope read|write
  sandbox       the whole life of a campaign against a fake GitHub, in one process: --repos N, --spec FILE, --keep
  fakegithub    run a fake GitHub (githubfake) on 127.0.0.1: --repos N; prints its URLs and an App config
  agent         inside a Kubernetes Job: agent clone | agent upload
  version       print the version

Common flags:
  --config FILE        YAML configuration file (environment variables override it)
  --log-format FORMAT  json (default) or console
  --log-level LEVEL    trace, debug, info (default), warn, error

Configuration reference: docs/operations.md
`

// exitError carries an exit status up to main.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		code := 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "campaignbot:", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			code = 0
		}
		os.Exit(code)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2, errors.New("no command given")}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "server":
		return runServer(ctx, rest, stderr)
	case "worker":
		return runWorker(ctx, rest, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "dlq":
		return runDLQ(ctx, rest, stdout, stderr)
	case "ctl":
		return runCtl(ctx, rest, stdout, stderr)
	case "tokens":
		return runTokens(ctx, rest, stdout, stderr)
	case "agent":
		return runAgent(ctx, rest, stderr)
	case "sandbox":
		return runSandbox(ctx, rest, stdout, stderr)
	case "fakegithub":
		return runFakeGitHub(ctx, rest, stdout, stderr)
	case "version":
		return runVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return exitError{2, fmt.Errorf("unknown command %q", cmd)}
	}
}
