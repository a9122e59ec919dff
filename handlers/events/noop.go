package events

import (
	"context"

	"github.com/rs/zerolog"
)

// Noop accepts the events later features handle, so the server stores
// them durably today; the worker logs and drops them.
type Noop struct{}

// NoopEvents are the events the App subscribes to that have no handler yet.
var NoopEvents = []string{
	"repository",
}

// Handles implements githubapp.EventHandler.
func (*Noop) Handles() []string { return NoopEvents }

// Handle logs the delivery.
func (*Noop) Handle(ctx context.Context, eventType, deliveryID string, _ []byte) error {
	zerolog.Ctx(ctx).Debug().Str("event", eventType).Str("delivery_id", deliveryID).Msg("event not handled yet; ignored")
	return nil
}
