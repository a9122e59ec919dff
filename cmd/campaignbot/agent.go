package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/campaignbot/campaignbot/runner/agent"
)

// runAgent is the inside of a Kubernetes Job: `agent clone` and `agent upload`.
func runAgent(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "clone" && args[0] != "upload") {
		return exitError{2, fmt.Errorf("usage: campaignbot agent clone|upload (inside a campaignbot Job)")}
	}
	var err error
	if args[0] == "clone" {
		err = agent.Clone(ctx, os.Getenv)
	} else {
		err = agent.Upload(ctx, os.Getenv, &http.Client{Timeout: 5 * time.Minute})
	}
	if err != nil {
		agent.Report(err, agent.TerminationLog)
		fmt.Fprintln(stderr, "campaignbot agent:", err)
		return exitError{1, err}
	}
	return nil
}
