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

	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/store"
)

// EnvOr returns the environment variable k, or def when it is unset or empty.
func EnvOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// FreshStore drops the database dbURL names, migrates it afresh and opens it.
func FreshStore(ctx context.Context, dbURL string) (*store.Store, error) {
	if err := ResetDatabase(ctx, dbURL); err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, dbURL); err != nil {
		return nil, err
	}
	return store.Open(ctx, dbURL)
}

// FreshRedis connects to the Redis database redisURL names and empties it.
func FreshRedis(ctx context.Context, redisURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("parse Redis URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis at %s: %w", opt.Addr, err)
	}
	return rdb, nil
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
