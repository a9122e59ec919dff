package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/config"
)

// runTokens is `campaignbot tokens create`: an operator command that
// writes to the database directly, because the first write token cannot
// be made through the API (docs/api/cli.md). List and revoke go through
// the API: `campaignbot ctl tokens list|revoke`.
func runTokens(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return exitError{2, errors.New("usage: campaignbot tokens create --name NAME --scope read|write (list and revoke: campaignbot ctl tokens)")}
	}
	fs, common := newFlagSet("tokens create", stderr)
	name := fs.String("name", "", "token name; the audit log shows its actions as api:NAME")
	scope := fs.String("scope", "read", "read (every GET and plan) or write (also pause, resume, retry, cancel, token admin)")
	by := fs.String("created-by", os.Getenv("USER"), "who creates it (recorded)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{2, err}
	}
	if *name == "" || fs.NArg() > 0 {
		return exitError{2, errors.New("usage: campaignbot tokens create --name NAME --scope read|write")}
	}
	cfg, _, err := common.load(config.RoleMigrate, stderr)
	if err != nil {
		return err
	}
	if *by == "" {
		*by = "operator"
	}
	secret, t, err := app.CreateAPIToken(ctx, cfg, *name, *scope, *by)
	if err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(stderr, "created API token %d %q with scope %s; it is shown once, store it now:\n", t.ID, t.Name, t.Scope)
	fmt.Fprintln(stdout, secret)
	return nil
}
