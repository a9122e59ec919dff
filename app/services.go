package app

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/publisher"
	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/events"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
)

// services are the domain services both roles share: the server's REST
// API and the worker's handlers change runs through the same Control.
type services struct {
	dashboards *status.Dashboards
	progress   orchestrator.Progress // the dashboards, and Slack when configured
	publisher  *publisher.Publisher
	starter    *orchestrator.Starter
	completion *orchestrator.Completion
	control    *orchestrator.Control
	targets    events.Targets
}

// newServices builds the shared services over one store, queue and Redis.
// wrap, when set, decorates the dashboards' Progress (the worker adds Slack).
func newServices(cfg config.Config, cc githubapp.ClientCreator, st *store.Store, q *queue.Client, rdb redis.UniversalClient,
	wrap func(kill status.KillSwitch, dashboards orchestrator.Progress) orchestrator.Progress) *services {
	s := &services{}
	s.publisher = publisher.New(rdb, publisherConfig(cfg))
	// The dashboards' throttle line reads the kill switch from Control,
	// which needs the dashboards as Progress: a small indirection breaks the cycle.
	kill := &lateKill{}
	s.dashboards = status.NewDashboards(st, tasks.CheckRuns{ClientCreator: cc}, q,
		status.Throttles{Kill: kill, Pauses: s.publisher}, cfg.Campaign.DashboardEvery)
	s.progress = s.dashboards
	if wrap != nil {
		s.progress = wrap(kill, s.dashboards)
	}
	targets := newTargets(cfg, cc, st)
	s.targets = targets
	s.starter = orchestrator.NewStarter(st, targets, q, s.progress)
	s.completion = orchestrator.NewCompletion(st, q, s.progress)
	// Both roles settle runs (the server when the API resumes one), so both
	// hold the next rollout wave until the previous one's CI passed.
	s.completion.SetWaveGate(func(ctx context.Context, tx pgx.Tx, runID int64, wave int) (bool, error) {
		return store.WaveCIReady(ctx, tx, runID, wave)
	})
	s.control = orchestrator.NewControl(orchestrator.ControlConfig{
		Store: st, Starter: s.starter, Queue: q, Publish: q, Close: q,
		Heads: tasks.BranchHeads{ClientCreator: cc}, Progress: s.progress, Settle: s.completion,
		KillSwitch: cfg.Publisher.KillSwitch, RequiredApprovals: cfg.Campaign.RequiredApprovals,
	})
	kill.c = s.control
	return s
}

// lateKill forwards to Control once it exists.
type lateKill struct{ c *orchestrator.Control }

func (l *lateKill) Frozen(ctx context.Context) (bool, string) {
	if l.c == nil {
		return false, ""
	}
	return l.c.Frozen(ctx)
}
