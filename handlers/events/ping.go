package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rs/zerolog"
)

// Ping answers GitHub's ping, sent when a webhook is set up.
type Ping struct{}

// Handles implements githubapp.EventHandler.
func (*Ping) Handles() []string { return []string{"ping"} }

// Handle logs the ping.
func (*Ping) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var p struct {
		Zen    string `json:"zen"`
		HookID int64  `json:"hook_id"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode ping: %w", err)
	}
	zerolog.Ctx(ctx).Info().Str("zen", p.Zen).Int64("hook_id", p.HookID).Msg("ping received")
	return nil
}
