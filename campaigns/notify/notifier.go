package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/store"
)

// Store reads runs and remembers each run's Slack message and notices.
type Store interface {
	LoadRunView(ctx context.Context, runID int64) (store.RunView, error)
	RunSpecVersion(ctx context.Context, runID int64) (store.SpecVersion, error)
	SlackMessage(ctx context.Context, runID int64, channel string) (store.SlackMessage, bool, error)
	SaveSlackMessage(ctx context.Context, m store.SlackMessage) error
	SlackNotices(ctx context.Context, runID int64, channel string) (map[string]bool, error)
	RecordSlackNotice(ctx context.Context, runID int64, channel, notice, ts string) (bool, error)
	WithSlackLock(ctx context.Context, runID int64, fn func(ctx context.Context) error) (bool, error)
}

// Slack posts and updates messages.
type Slack interface {
	// Post sends a message (a thread reply when threadTS is set) and
	// returns the channel's id and the message's timestamp.
	Post(ctx context.Context, channel, threadTS string, m Message) (channelID, ts string, err error)
	// Update replaces the message at ts in channelID.
	Update(ctx context.Context, channelID, ts string, m Message) error
}

// Scheduler enqueues a delayed, deduplicated Slack update of a run.
type Scheduler interface {
	EnqueueSlack(ctx context.Context, runID int64, taskID string, in time.Duration) (bool, error)
}

// KillSwitch tells whether all publishing is frozen.
type KillSwitch interface {
	Frozen(ctx context.Context) (bool, string)
}

// ErrBusy: another Slack update of the same run is running; try again shortly.
var ErrBusy = errors.New("another slack update of this run is running")

// Config configures a Notifier.
type Config struct {
	// DefaultChannel is used when a spec names no notify.slack channel
	// ("": such runs are not told in Slack).
	DefaultChannel string
	// Every is the coalescing interval: at most one update per run this often.
	Every time.Duration
	// WebURL is GitHub's web URL for links.
	WebURL string
	// KillSwitch, when set, is shown and its changes told in threads.
	KillSwitch KillSwitch
	// Throttles, when set, shows why publishing waits.
	Throttles status.ThrottleSource
}

// Notifier keeps each run's Slack message current.
type Notifier struct {
	store     Store
	slack     Slack
	scheduler Scheduler
	cfg       Config
	now       func() time.Time
}

// New returns a Notifier.
func New(st Store, sl Slack, sched Scheduler, cfg Config) *Notifier {
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	return &Notifier{store: st, slack: sl, scheduler: sched, cfg: cfg, now: time.Now}
}

// RequestUpdate asks for the run's message to be refreshed, coalesced to
// one chat.update per interval (status.CoalesceSlot). It is
// orchestrator.Progress, next to the dashboard's.
func (n *Notifier) RequestUpdate(ctx context.Context, runID int64) error {
	id, in := status.CoalesceSlot("slack", runID, n.now(), n.cfg.Every)
	if _, err := n.scheduler.EnqueueSlack(ctx, runID, id, in); err != nil {
		return fmt.Errorf("schedule slack update of run %d: %w", runID, err)
	}
	return nil
}

// Update renders the run and posts its message, or updates it when what it
// shows changed, then posts the thread notices that are due. Updates of one
// run are serialised (ErrBusy otherwise), so the message is posted once.
func (n *Notifier) Update(ctx context.Context, runID int64) error {
	return status.Serialised(ctx, runID, n.store.WithSlackLock, ErrBusy, n.update)
}

func (n *Notifier) update(ctx context.Context, runID int64) error {
	v, err := n.store.LoadRunView(ctx, runID)
	if err != nil {
		return err
	}
	channel, owners := n.cfg.DefaultChannel, []string(nil)
	if sv, err := n.store.RunSpecVersion(ctx, runID); err != nil {
		return err
	} else if s, diags := spec.Parse("spec.yaml", []byte(sv.YAML)); s != nil && !diags.HasErrors() {
		owners = s.Owners
		if s.Notify.Slack != "" {
			channel = s.Notify.Slack
		}
	}
	if channel == "" {
		return nil
	}
	in := View{Run: v, WebURL: n.cfg.WebURL}
	if n.cfg.KillSwitch != nil {
		in.Frozen, in.FrozenReason = n.cfg.KillSwitch.Frozen(ctx)
	}
	if n.cfg.Throttles != nil {
		in.Throttle = n.cfg.Throttles.Throttle(ctx, v)
	}
	msg := Render(in)
	hash := msg.Hash()

	m, exists, err := n.store.SlackMessage(ctx, runID, channel)
	if err != nil {
		return err
	}
	before := seen{exists: exists, runState: m.RunState, frozen: m.Frozen}
	log := zerolog.Ctx(ctx).With().Int64("run_id", runID).Str("channel", channel).Logger()
	switch {
	case !exists:
		chID, ts, err := n.slack.Post(ctx, channel, "", msg)
		if err != nil {
			return fmt.Errorf("post slack message of run %d in %s: %w", runID, channel, err)
		}
		// Recorded at once: a later failure must not post it again.
		m = store.SlackMessage{RunID: runID, Channel: channel, ChannelID: chID, TS: ts, Hash: hash}
		if err := n.store.SaveSlackMessage(ctx, m); err != nil {
			return err
		}
		log.Debug().Str("ts", ts).Msg("slack message posted")
	case m.Hash != hash:
		if err := n.slack.Update(ctx, m.ChannelID, m.TS, msg); err != nil {
			return fmt.Errorf("update slack message of run %d in %s: %w", runID, channel, err)
		}
		m.Hash = hash
		m.Updates++
		if err := n.store.SaveSlackMessage(ctx, m); err != nil {
			return err
		}
		log.Debug().Str("ts", m.TS).Int("updates", m.Updates).Msg("slack message updated")
	}

	if before.posted, err = n.store.SlackNotices(ctx, runID, channel); err != nil {
		return err
	}
	for _, nt := range notices(in, owners, before) {
		_, ts, err := n.slack.Post(ctx, m.ChannelID, m.TS, nt.Message)
		if err != nil {
			return fmt.Errorf("post slack notice %s of run %d: %w", nt.Key, runID, err)
		}
		if _, err := n.store.RecordSlackNotice(ctx, runID, channel, nt.Key, ts); err != nil {
			return err
		}
		before.posted[nt.Key] = true
		log.Debug().Str("notice", nt.Key).Msg("slack notice posted")
	}
	// The transitions are consumed only once every notice went out.
	m.RunState, m.Frozen = v.Run.State, in.Frozen
	return n.store.SaveSlackMessage(ctx, m)
}
