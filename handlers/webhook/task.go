package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// DeliveryClaimer is the part of the store the worker uses.
type DeliveryClaimer interface {
	ClaimDelivery(ctx context.Context, id string) (store.Delivery, bool, error)
	FinishDelivery(ctx context.Context, id string, procErr error) error
}

// Processor runs the event handlers for stored deliveries (the worker side).
type Processor struct {
	store    DeliveryClaimer
	handlers map[string]githubapp.EventHandler
	metrics  *Metrics
}

// NewProcessor routes each event to the first of handlers that handles it,
// as go-githubapp's dispatcher does.
func NewProcessor(st DeliveryClaimer, handlers []githubapp.EventHandler, m *Metrics) *Processor {
	byEvent := make(map[string]githubapp.EventHandler)
	for i := len(handlers) - 1; i >= 0; i-- {
		for _, ev := range handlers[i].Handles() {
			byEvent[ev] = handlers[i]
		}
	}
	return &Processor{store: st, handlers: byEvent, metrics: m}
}

// ProcessTask is the asynq handler for queue.TypeWebhook tasks. A delivery
// already processed is skipped, so a task that runs twice (a sweep, a
// replay, a worker killed after finishing) does the work once.
func (p *Processor) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id := string(t.Payload())
	d, ok, err := p.store.ClaimDelivery(ctx, id)
	if err != nil {
		return err
	}
	logger := zerolog.Ctx(ctx).With().
		Str("delivery_id", id).
		Str("event", d.Event).
		Int64("installation_id", d.InstallationID).
		Str("repository", d.Repository).
		Logger()
	ctx = logger.WithContext(ctx)
	if !ok {
		logger.Debug().Msg("delivery already processed; skipping duplicate task")
		p.metrics.processedOne("unknown", "duplicate")
		return nil
	}
	if d.Action != "" {
		logger = logger.With().Str("action", d.Action).Logger()
		ctx = logger.WithContext(ctx)
	}
	h, found := p.handlers[d.Event]
	var procErr error
	start := time.Now()
	if found {
		procErr = safeHandle(ctx, h, d)
	} else {
		logger.Info().Msg("no handler for this event; recorded and ignored")
	}
	if err := p.store.FinishDelivery(context.WithoutCancel(ctx), id, procErr); err != nil {
		logger.Error().Err(err).Msg("could not record delivery outcome")
		if procErr == nil {
			return err
		}
	}
	if procErr != nil {
		p.metrics.processedOne(d.Event, "error")
		logger.Error().Err(procErr).Int("attempt", d.Attempts).Msg("handler failed; the task will be retried")
		return procErr
	}
	p.metrics.processedOne(d.Event, "ok")
	logger.Info().Dur("elapsed", time.Since(start)).Msg("delivery processed")
	return nil
}

// safeHandle turns a handler panic into an error so one bad delivery cannot
// take the worker down.
func safeHandle(ctx context.Context, h githubapp.EventHandler, d store.Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler for %s panicked: %v: %w", d.Event, r, asynq.SkipRetry)
		}
	}()
	if err := h.Handle(ctx, d.Event, d.ID, d.Payload); err != nil {
		return fmt.Errorf("handle %s delivery %s: %w", d.Event, d.ID, err)
	}
	return nil
}

// IsPermanent reports whether err asks asynq not to retry.
func IsPermanent(err error) bool { return errors.Is(err, asynq.SkipRetry) }
