package selection

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// Cache stores resolved selections; *store.Store implements it on the
// selection_cache table.
type Cache interface {
	// GetSelection returns the result stored under key unless it expired
	// at now.
	GetSelection(ctx context.Context, key string, now time.Time) ([]byte, bool, error)
	// PutSelection stores result under key until expiresAt.
	PutSelection(ctx context.Context, key string, result []byte, expiresAt, now time.Time) error
}

// cacheKeyVersion changes whenever the result's meaning or encoding does,
// so old rows are never read as new ones.
const cacheKeyVersion = 1

// cacheKey hashes the installation and the normalised targets: two specs
// selecting the same way (different order, case or spacing) share a row.
func cacheKey(installationID int64, t spec.Targets) string {
	k := struct {
		V            int      `json:"v"`
		Installation int64    `json:"installation"`
		Query        string   `json:"query"`
		Repositories []string `json:"repositories"`
		Exclude      []string `json:"exclude"`
		Files        []string `json:"files"`
		Topics       []string `json:"topics"`
	}{
		V:            cacheKeyVersion,
		Installation: installationID,
		Query:        strings.Join(strings.Fields(t.Query), " "),
		Repositories: normalise(t.Repositories, true),
		Exclude:      normalise(t.Exclude, true),
		// File paths are case-sensitive on GitHub.
		Files:  normalise(t.Require.Files, false),
		Topics: normalise(t.Require.Topics, true),
	}
	b, _ := json.Marshal(k) // strings and ints only: cannot fail
	sum := sha256.Sum256(b)
	return "selection:v1:" + hex.EncodeToString(sum[:])
}

// normalise returns a sorted, de-duplicated copy, lower-cased if fold.
func normalise(in []string, fold bool) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if fold {
			s = strings.ToLower(s)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
