package events

import (
	"encoding/json"
	"fmt"

	"github.com/palantir/go-githubapp/githubapp"
)

// decodeInstalled decodes a payload into event type E and returns it with
// the installation id every App delivery carries (an error without one).
func decodeInstalled[E any, P interface {
	*E
	githubapp.InstallationSource
}](payload []byte, event string) (P, int64, error) {
	ev := P(new(E))
	if err := json.Unmarshal(payload, ev); err != nil {
		return nil, 0, fmt.Errorf("decode %s event: %w", event, err)
	}
	id := githubapp.GetInstallationIDFromEvent(ev)
	if id == 0 {
		return nil, 0, fmt.Errorf("%s event without installation id", event)
	}
	return ev, id, nil
}
