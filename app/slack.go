package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
	"github.com/campaignbot/campaignbot/campaigns/notify"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/config"
	slackhandlers "github.com/campaignbot/campaignbot/handlers/slack"
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

// newNotifier builds the Slack notifier, or nil when no bot token is set.
func newNotifier(cfg config.Config, st *store.Store, q *queue.Client, ks notify.KillSwitch) *notify.Notifier {
	if cfg.Slack.BotToken == "" {
		return nil
	}
	return notify.New(st, tasks.NewSlackAPI(cfg.Slack.BotToken, cfg.Slack.APIURL), tasks.SlackQueue{Client: q}, notify.Config{
		DefaultChannel: cfg.Slack.DefaultChannel,
		Every:          cfg.Slack.UpdateEvery,
		WebURL:         cfg.GitHub.WebURL,
		KillSwitch:     ks,
	})
}

// slackProgress makes every run update also schedule a Slack update when
// Slack is configured (the server's run control needs no task handler).
func slackProgress(cfg config.Config, st *store.Store, q *queue.Client) func(status.KillSwitch, orchestrator.Progress) orchestrator.Progress {
	return func(ks status.KillSwitch, progress orchestrator.Progress) orchestrator.Progress {
		if n := newNotifier(cfg, st, q, ks); n != nil {
			return progressFanout{progress, n}
		}
		return progress
	}
}

// withSlack registers the Slack update task and returns progress that also
// schedules Slack updates, with the sweeper that tells kill-switch changes
// — or progress unchanged when no bot token is set.
func withSlack(cfg config.Config, st *store.Store, q *queue.Client, mux *asynq.ServeMux, reg prometheus.Registerer,
	ks notify.KillSwitch, progress orchestrator.Progress) (orchestrator.Progress, []tasks.Sweeper) {
	n := newNotifier(cfg, st, q, ks)
	if n == nil {
		return progress, nil
	}
	mux.Handle(tasks.TypeNotify, asynq.HandlerFunc((&tasks.Notify{Notifier: n, Metrics: tasks.NewNotifyMetrics(reg)}).ProcessTask))
	return progressFanout{progress, n}, []tasks.Sweeper{notify.FreezeSweeper{Notifier: n, Runs: st}}
}

// slackRoutes serves the slash command and the buttons when a signing
// secret is set (Slack's requests cannot be verified otherwise).
func slackRoutes(cfg config.Config, cc githubapp.ClientCreator, st *store.Store, control *orchestrator.Control,
	handle func(pattern, route string, h http.Handler)) {
	if cfg.Slack.SigningSecret == "" {
		return
	}
	h := slackhandlers.New(slackhandlers.Config{
		SigningSecret: cfg.Slack.SigningSecret,
		ControlRepo:   cfg.Campaign.ControlRepo,
		Users:         cfg.Slack.Users,
		Policy:        chatops.Policy{AllowSelfApproval: cfg.Campaign.AllowSelfApproval, Admins: cfg.Campaign.Admins},
		Responder:     &http.Client{Timeout: 5 * time.Second},
	}, st, control, slackhandlers.GitHubPermissions{ClientCreator: cc})
	handle("POST "+slackhandlers.CommandsRoute, slackhandlers.CommandsRoute, http.HandlerFunc(h.Commands))
	handle("POST "+slackhandlers.ActionsRoute, slackhandlers.ActionsRoute, http.HandlerFunc(h.Actions))
}
