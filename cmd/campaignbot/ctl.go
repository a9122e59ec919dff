package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

const ctlUsage = `usage: campaignbot ctl <command> [flags] [args]

  validate FILE...             check campaign specs offline; prints file:line:col: message, exit 1 on any error
`

func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, ctlUsageText())
		return exitError{2, fmt.Errorf("ctl: no command given")}
	}
	lead, args := splitLeadingFlags(args)
	if len(args) == 0 {
		fmt.Fprint(stderr, ctlUsageText())
		return exitError{2, fmt.Errorf("ctl: no command given")}
	}
	switch args[0] {
	case "validate":
		return runValidate(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, ctlUsageText())
		return nil
	default:
		// Every other command goes through the REST API (ctl_cmds.go).
		return runCtlAPI(ctx, args[0], append(lead, args[1:]...), stdout, stderr)
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

// splitLeadingFlags takes the API flags given before the command
// (`ctl -o json list`) so they can be parsed with the command's.
func splitLeadingFlags(args []string) (lead, rest []string) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" && args[0] != "--" {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			break
		}
		f := args[0]
		lead, args = append(lead, f), args[1:]
		name := strings.TrimLeft(f, "-")
		if !strings.Contains(name, "=") && (name == "o" || name == "server" || name == "token" || name == "timeout") && len(args) > 0 {
			lead, args = append(lead, args[0]), args[1:]
		}
	}
	return lead, args
}
