package tasks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/campaignbot/campaignbot/campaigns/notify"
	"github.com/campaignbot/campaignbot/queue"
)

// TypeNotify refreshes one run's Slack message; its payload is the run id.
const TypeNotify = "slack:update"

// notifyRetries: Slack outages are retried with backoff this many times,
// then the update is in the dead-letter queue (a later one supersedes it).
const notifyRetries = 5

// SlackQueue enqueues Slack updates on the campaign queue (notify.Scheduler).
type SlackQueue struct {
	*queue.Client
}

// EnqueueSlack implements notify.Scheduler.
func (q SlackQueue) EnqueueSlack(ctx context.Context, runID int64, taskID string, in time.Duration) (bool, error) {
	return q.Enqueue(ctx, TypeNotify, taskID, []byte(strconv.FormatInt(runID, 10)), asynq.ProcessIn(in), asynq.MaxRetry(notifyRetries))
}

// NotifyMetrics counts Slack notifications that failed.
type NotifyMetrics struct {
	failures *prometheus.CounterVec
}

// NewNotifyMetrics registers the counters on reg.
func NewNotifyMetrics(reg prometheus.Registerer) *NotifyMetrics {
	m := &NotifyMetrics{failures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campaignbot_slack_notification_failures_total",
		Help: "Slack notifications that failed, by Slack's error (channel_not_found, token_revoked, ...; rate_limited retries; gave_up after the last retry).",
	}, []string{"reason"})}
	reg.MustRegister(m.failures)
	return m
}

// permanentSlackErrors will not heal by retrying: the update is dropped,
// logged and counted, and campaign work goes on.
var permanentSlackErrors = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "token_revoked": true,
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_expired": true,
	"missing_scope": true, "no_permission": true, "team_access_not_granted": true, "restricted_action": true,
	"message_not_found": true, "cant_update_message": true, "thread_not_found": true,
}

// Notify handles TypeNotify: one coalesced refresh of a run's Slack message.
// Slack's failures never reach campaign work: they stay in this task.
type Notify struct {
	Notifier *notify.Notifier
	Metrics  *NotifyMetrics
}

// ProcessTask implements the asynq handler.
func (h *Notify) ProcessTask(ctx context.Context, t *asynq.Task) error {
	runID, err := strconv.ParseInt(string(t.Payload()), 10, 64)
	if err != nil {
		return fmt.Errorf("slack task payload %q is not a run id: %w", t.Payload(), asynq.SkipRetry)
	}
	err = h.Notifier.Update(ctx, runID)
	log := zerolog.Ctx(ctx).With().Int64("run_id", runID).Logger()
	var rl *slack.RateLimitedError
	var se slack.SlackErrorResponse
	switch {
	case err == nil:
		return nil
	case errors.Is(err, notify.ErrBusy):
		return &queue.RetryLater{After: 2 * time.Second, Reason: err.Error()}
	case errors.As(err, &rl):
		h.Metrics.failures.WithLabelValues("rate_limited").Inc()
		// Honour Slack's Retry-After; waiting is not a failed attempt.
		return &queue.RetryLater{After: max(rl.RetryAfter, time.Second), Reason: err.Error()}
	case errors.As(err, &se) && permanentSlackErrors[se.Err]:
		h.Metrics.failures.WithLabelValues(se.Err).Inc()
		log.Error().Err(err).Str("slack_error", se.Err).Msg("slack notification dropped: fix the Slack app or channel (campaign work is not affected)")
		return nil
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	if ok && retried >= maxRetry {
		h.Metrics.failures.WithLabelValues("gave_up").Inc()
		log.Error().Err(err).Msg("slack notification failed after its last retry (campaign work is not affected)")
	} else {
		log.Warn().Err(err).Int("retried", retried).Msg("slack notification failed; will retry")
	}
	return err
}

// SlackAPI adapts slack-go to notify.Slack.
type SlackAPI struct {
	Client *slack.Client
}

// NewSlackAPI returns a client for token; apiURL "" is Slack's own.
func NewSlackAPI(token, apiURL string) SlackAPI {
	opts := []slack.Option{}
	if apiURL != "" {
		opts = append(opts, slack.OptionAPIURL(apiURL))
	}
	return SlackAPI{Client: slack.New(token, opts...)}
}

// Post implements notify.Slack.
func (s SlackAPI) Post(ctx context.Context, channel, threadTS string, m notify.Message) (string, string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	ch, ts, err := s.Client.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", "", fmt.Errorf("chat.postMessage to %s: %w", channel, err)
	}
	return ch, ts, nil
}

// Update implements notify.Slack.
func (s SlackAPI) Update(ctx context.Context, channelID, ts string, m notify.Message) error {
	if _, _, _, err := s.Client.UpdateMessageContext(ctx, channelID, ts, slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...)); err != nil {
		return fmt.Errorf("chat.update of %s in %s: %w", ts, channelID, err)
	}
	return nil
}
