package main

import (
	"context"
	"flag"
	"io"

	"github.com/campaignbot/campaignbot/fixtures/githubfake"
)

// runFakeGitHub serves githubfake standalone: a fake GitHub with an org
// of demo repositories and an App, printing its URLs and a ready config.
func runFakeGitHub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakegithub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repos := fs.Int("repos", 25, "how many demo repositories to create")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	if *repos < 0 || *repos > 100000 {
		return exitError{2, flagError("--repos must be between 0 and 100000")}
	}
	return githubfake.RunStandalone(ctx, *repos, stdout)
}

type flagError string

func (e flagError) Error() string { return string(e) }
