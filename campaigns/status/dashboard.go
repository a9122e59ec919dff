package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// ViewStore reads runs and remembers what their dashboard showed.
type ViewStore interface {
	LoadRunView(ctx context.Context, runID int64) (store.RunView, error)
	SaveDashboard(ctx context.Context, runID, checkRunID int64, hash string) error
	WithRunLock(ctx context.Context, runID int64, fn func(ctx context.Context) error) (bool, error)
}

// ErrBusy: another update of the same run is running; try again shortly.
var ErrBusy = errors.New("another dashboard update of this run is running")

// Checks creates and updates check runs on the control repository.
type Checks interface {
	CreateCheckRun(ctx context.Context, installationID int64, repo, headSHA string, d Dashboard) (int64, error)
	UpdateCheckRun(ctx context.Context, installationID int64, repo string, checkRunID int64, d Dashboard) error
}

// Scheduler enqueues a delayed, deduplicated dashboard update.
type Scheduler interface {
	EnqueueDashboard(ctx context.Context, runID int64, taskID string, in time.Duration) (bool, error)
}

// ThrottleSource says whether publishing for a run waits (nil: it does not).
type ThrottleSource interface {
	Throttle(ctx context.Context, v store.RunView) *Throttle
}

// Dashboards keeps each run's check run current.
type Dashboards struct {
	store     ViewStore
	checks    Checks
	scheduler Scheduler
	throttles ThrottleSource
	interval  time.Duration
	now       func() time.Time
}

// NewDashboards coalesces updates to one per run per interval.
func NewDashboards(st ViewStore, checks Checks, sched Scheduler, throttles ThrottleSource, interval time.Duration) *Dashboards {
	return &Dashboards{store: st, checks: checks, scheduler: sched, throttles: throttles, interval: interval, now: time.Now}
}

// SetClock replaces the time source that buckets update requests (the
// publishing benchmark runs on a virtual clock).
func (d *Dashboards) SetClock(now func() time.Time) { d.now = now }

// RequestUpdate asks for the run's dashboard to be refreshed, coalesced to
// one update per interval (CoalesceSlot).
func (d *Dashboards) RequestUpdate(ctx context.Context, runID int64) error {
	id, in := CoalesceSlot("dashboard", runID, d.now(), d.interval)
	if _, err := d.scheduler.EnqueueDashboard(ctx, runID, id, in); err != nil {
		return fmt.Errorf("schedule dashboard update of run %d: %w", runID, err)
	}
	return nil
}

// Update renders the run and sends it, unless it shows what was sent last.
// Updates of one run are serialised (ErrBusy otherwise), so the check run
// is created once.
func (d *Dashboards) Update(ctx context.Context, runID int64) error {
	return Serialised(ctx, runID, d.store.WithRunLock, ErrBusy, d.update)
}

func (d *Dashboards) update(ctx context.Context, runID int64) error {
	v, err := d.store.LoadRunView(ctx, runID)
	if err != nil {
		return err
	}
	var th *Throttle
	if d.throttles != nil {
		th = d.throttles.Throttle(ctx, v)
	}
	dash := Render(v, th)
	hash := dash.Hash()
	if v.CheckRunID != 0 && hash == v.DashboardHash {
		return nil
	}
	id := v.CheckRunID
	if id == 0 {
		if id, err = d.checks.CreateCheckRun(ctx, v.Run.InstallationID, v.ControlRepo, v.Run.ControlSHA, dash); err != nil {
			return fmt.Errorf("create dashboard of run %d: %w", runID, err)
		}
	} else if err := d.checks.UpdateCheckRun(ctx, v.Run.InstallationID, v.ControlRepo, id, dash); err != nil {
		return fmt.Errorf("update dashboard of run %d: %w", runID, err)
	}
	zerolog.Ctx(ctx).Debug().Int64("run_id", runID).Int64("check_run_id", id).Str("title", dash.Title).Msg("dashboard updated")
	return d.store.SaveDashboard(ctx, runID, id, hash)
}
