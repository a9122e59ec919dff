package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/campaignbot/campaignbot/cmd/campaignbot/internal/sandbox"
	"github.com/campaignbot/campaignbot/config"
)

// runSandbox plays the life of a campaign against githubfake in this
// process (cmd/campaignbot/internal/sandbox); exit status 1 when the
// story did not end as it predicted, 2 when --spec is not a valid spec.
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repos := fs.Int("repos", 25, "how many demo repositories to create")
	keep := fs.Bool("keep", false, "leave everything running after the story and print where to look")
	specFile := fs.String("spec", "", "run the story with this spec instead of the sample one")
	database := fs.String("database", "campaignbot_sandbox", "name of the sandbox's own PostgreSQL database (dropped and created afresh)")
	addr := fs.String("addr", "", "address of the app (default: a free port; 127.0.0.1:8080 with --keep)")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	if fs.NArg() > 0 {
		return exitError{2, fmt.Errorf("sandbox takes no arguments, got %q", fs.Args())}
	}
	if *repos < 1 || *repos > 5000 {
		return exitError{2, flagError("--repos must be between 1 and 5000")}
	}
	o := sandbox.Options{Repos: *repos, Keep: *keep, Database: *database, Addr: *addr, Out: stdout,
		DatabaseURL: envOr("DATABASE_URL", config.DefaultDatabaseURL), RedisURL: envOr("REDIS_URL", config.DefaultRedisURL)}
	if *specFile != "" {
		data, err := os.ReadFile(*specFile)
		if err != nil {
			return exitError{2, fmt.Errorf("--spec: %w", err)}
		}
		o.Spec, o.SpecName = data, *specFile
	}
	err := sandbox.Run(ctx, o)
	switch {
	case errors.Is(err, sandbox.ErrInvalidSpec):
		return exitError{2, err}
	case errors.Is(err, sandbox.ErrMismatch):
		return exitError{1, err}
	}
	return err
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
