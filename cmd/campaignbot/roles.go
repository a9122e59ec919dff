package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
)

func runServer(ctx context.Context, args []string, stderr io.Writer) error {
	fs, common := newFlagSet("server", stderr)
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	cfg, logger, err := common.load(config.RoleServer, stderr)
	if err != nil {
		return err
	}
	srv, err := app.NewServer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Run(ctx, nil)
}

func runWorker(ctx context.Context, args []string, stderr io.Writer) error {
	fs, common := newFlagSet("worker", stderr)
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	cfg, logger, err := common.load(config.RoleWorker, stderr)
	if err != nil {
		return err
	}
	w, err := app.NewWorker(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Run(ctx)
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, common := newFlagSet("migrate", stderr)
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	cfg, _, err := common.load(config.RoleMigrate, stderr)
	if err != nil {
		return err
	}
	res, err := store.Migrate(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if res.CreatedDatabase {
		fmt.Fprintln(stdout, "created database")
	}
	if len(res.Applied) == 0 {
		fmt.Fprintf(stdout, "schema is up to date (version %d)\n", res.Version)
	} else {
		fmt.Fprintf(stdout, "applied %d migration(s); schema version %d\n", len(res.Applied), res.Version)
	}
	return nil
}

func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return exitError{2, fmt.Errorf("usage: campaignbot dlq list | dlq replay TASK_ID... | dlq replay --all")}
	}
	sub := args[0]
	fs, common := newFlagSet("dlq "+sub, stderr)
	all := fs.Bool("all", false, "replay every dead task")
	limit := fs.Int("limit", 100, "how many dead tasks to list")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{2, err}
	}
	cfg, _, err := common.load(config.RoleMigrate, stderr)
	if err != nil {
		return err
	}
	rdb, err := queue.OpenRedis(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	dl := queue.NewDeadLetters(rdb)
	switch {
	case sub == "list":
		dead, err := dl.List(*limit)
		if err != nil {
			return err
		}
		if len(dead) == 0 {
			fmt.Fprintln(stdout, "the dead-letter queue is empty")
			return nil
		}
		for _, d := range dead {
			fmt.Fprintf(stdout, "%s\t%s\tretried %d\tfailed %s\t%s\n", d.ID, d.Type, d.Retried,
				d.FailedAt.Format("2006-01-02T15:04:05Z07:00"), strings.ReplaceAll(d.LastError, "\n", " "))
		}
	case *all:
		n, err := dl.ReplayAll()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "replayed %d task(s)\n", n)
	default:
		if fs.NArg() == 0 {
			return exitError{2, fmt.Errorf("dlq replay needs TASK_ID... or --all")}
		}
		for _, id := range fs.Args() {
			if err := dl.Replay(id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "replayed %s\n", id)
		}
	}
	return nil
}

func runVersion(stdout io.Writer) error {
	fmt.Fprintln(stdout, "campaignbot", app.Version)
	return nil
}
