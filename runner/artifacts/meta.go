package artifacts

import (
	"context"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/store"
)

// MetaStore records which object holds each task's artifact of each kind;
// *store.Store implements it over the artifacts table.
type MetaStore interface {
	// ReplaceArtifact records a and removes the rows it replaces in one
	// transaction, returning them so their objects can be deleted.
	ReplaceArtifact(ctx context.Context, a store.Artifact) (stored store.Artifact, replaced []store.Artifact, err error)
	// CurrentArtifact returns the task's artifact of kind; ok is false if
	// there is none.
	CurrentArtifact(ctx context.Context, taskID uuid.UUID, kind string) (a store.Artifact, ok bool, err error)
}

var _ MetaStore = (*store.Store)(nil)
