package orchestrator

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/store"
)

// SyncStore persists spec syncs.
type SyncStore interface {
	ApplySpecSync(ctx context.Context, in store.SpecSync) (store.SpecSyncResult, error)
}

// Syncer keeps campaigns in step with the control repository's default branch.
type Syncer struct {
	store SyncStore
}

// NewSyncer returns a Syncer writing to st.
func NewSyncer(st SyncStore) *Syncer { return &Syncer{store: st} }

// Sync applies the default branch's spec folder: new names create
// campaigns, changed contents make new versions, removed files close
// campaigns, and an invalid file leaves its campaign's previous version in
// force. It is idempotent: the same snapshot twice changes nothing.
func (s *Syncer) Sync(ctx context.Context, snap Snapshot, author string) (store.SpecSyncResult, []ParsedSpec, error) {
	parsed := snap.Parse()
	in := store.SpecSync{ControlRepo: snap.Repo, CommitSHA: snap.Commit, Author: author}
	for _, p := range parsed {
		if p.Valid() {
			in.Valid = append(in.Valid, store.SyncedSpec{Name: p.Spec.Name, Path: p.Path, YAML: string(p.Raw), ContentHash: p.Spec.ContentHash()})
		} else {
			in.InvalidPaths = append(in.InvalidPaths, p.Path)
		}
	}
	res, err := s.store.ApplySpecSync(ctx, in)
	if err != nil {
		return res, parsed, fmt.Errorf("sync specs of %s at %s: %w", snap.Repo, snap.Commit, err)
	}
	log := zerolog.Ctx(ctx)
	for _, v := range res.NewVersions {
		log.Info().Int64("campaign_id", v.CampaignID).Int("version", v.Version).Str("commit", snap.Commit).Msg("new spec version")
	}
	for _, n := range res.Closed {
		log.Info().Str("campaign", n).Msg("campaign closed: its spec file was removed")
	}
	for _, p := range parsed {
		if !p.Valid() {
			log.Warn().Str("file", p.Path).Int("errors", len(p.Diagnostics.Errors())).
				Msg("invalid spec on the default branch; the campaign keeps its previous version")
		}
	}
	return res, parsed, nil
}
