// Package benchenv is what the load benchmarks (tests/load/*) share:
// settings from the environment and a fresh database per run.
package benchenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/campaignbot/campaignbot/store"
)

// EnvOr returns the environment variable k, or def when it is unset or empty.
func EnvOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// ResetDatabase drops the database dbURL names (connected through the
// server's postgres database), so a benchmark starts from an empty schema.
func ResetDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := store.Open(ctx, u.String())
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err = admin.Pool().Exec(ctx, "DROP DATABASE IF EXISTS "+strconv.Quote(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}
