package app

import (
	"context"
	"errors"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignbot/campaignbot/campaigns/notify"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
)

// progressFanout tells every view of a run (the dashboard, Slack) that it
// moved: each coalesces on its own.
type progressFanout []orchestrator.Progress

// RequestUpdate implements orchestrator.Progress.
func (f progressFanout) RequestUpdate(ctx context.Context, runID int64) error {
	var errs []error
	for _, p := range f {
		if err := p.RequestUpdate(ctx, runID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// withSlack registers the Slack update task and returns progress that also
// schedules Slack updates, with the sweeper that tells kill-switch changes
// — or progress unchanged when no bot token is set.
func withSlack(cfg config.Config, st *store.Store, q *queue.Client, mux *asynq.ServeMux, reg prometheus.Registerer,
	ks notify.KillSwitch, progress orchestrator.Progress) (orchestrator.Progress, []tasks.Sweeper) {
	if cfg.Slack.BotToken == "" {
		return progress, nil
	}
	n := notify.New(st, tasks.NewSlackAPI(cfg.Slack.BotToken, cfg.Slack.APIURL), tasks.SlackQueue{Client: q}, notify.Config{
		DefaultChannel: cfg.Slack.DefaultChannel,
		Every:          cfg.Slack.UpdateEvery,
		WebURL:         cfg.GitHub.WebURL,
		KillSwitch:     ks,
	})
	mux.Handle(tasks.TypeNotify, asynq.HandlerFunc((&tasks.Notify{Notifier: n, Metrics: tasks.NewNotifyMetrics(reg)}).ProcessTask))
	return progressFanout{progress, n}, []tasks.Sweeper{notify.FreezeSweeper{Notifier: n, Runs: st}}
}
