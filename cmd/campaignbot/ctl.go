package main

import (
	"context"
	"fmt"
	"io"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

const ctlUsage = `usage: campaignbot ctl <command>

  validate FILE...   check campaign specs offline; prints file:line:col: message, exit 1 on any error
`

func runCtl(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, ctlUsage)
		return exitError{2, fmt.Errorf("ctl: no command given")}
	}
	switch args[0] {
	case "validate":
		return runValidate(args[1:], stdout)
	default:
		fmt.Fprint(stderr, ctlUsage)
		return exitError{2, fmt.Errorf("ctl: unknown command %q", args[0])}
	}
}

// runValidate prints every diagnostic (errors and warnings) and exits 1
// when any is an error.
func runValidate(paths []string, stdout io.Writer) error {
	if len(paths) == 0 {
		return exitError{2, fmt.Errorf("ctl validate: give one or more spec files")}
	}
	diags, err := spec.ValidateFiles(paths)
	for _, d := range diags {
		fmt.Fprintln(stdout, d.String())
	}
	if err != nil {
		return exitError{1, err}
	}
	if diags.HasErrors() {
		return exitError{1, fmt.Errorf("%d error(s) in %d file(s)", len(diags.Errors()), len(paths))}
	}
	fmt.Fprintf(stdout, "%d spec file(s) valid\n", len(paths))
	return nil
}
