// Package installations keeps campaignbot's record of where the GitHub App
// is installed, and which repositories each installation can reach,
// current. It re-reads GitHub through a Forge rather than trusting webhook
// payloads, which can arrive late, twice or out of order.
package installations

import (
	"context"
	"fmt"

	"github.com/campaignbot/campaignbot/store"
)

// Forge reads installations from GitHub.
type Forge interface {
	// GetInstallation returns the installation as GitHub sees it now.
	GetInstallation(ctx context.Context, id int64) (store.Installation, error)
	// ListRepositories returns every repository the installation can access.
	ListRepositories(ctx context.Context, id int64) ([]store.InstallationRepo, error)
}

// Store persists installations.
type Store interface {
	UpsertInstallation(ctx context.Context, in store.Installation) error
	MarkInstallationDeleted(ctx context.Context, id int64) error
	ReplaceInstallationRepos(ctx context.Context, installationID int64, repos []store.InstallationRepo) error
}

// Service syncs installations.
type Service struct {
	store Store
}

// NewService returns a Service writing to st.
func NewService(st Store) *Service { return &Service{store: st} }

// Sync re-reads installation id and its repositories from GitHub and
// stores them. A suspended installation keeps its record but no
// repositories: it cannot be used until it is unsuspended.
func (s *Service) Sync(ctx context.Context, forge Forge, id int64) (store.Installation, int, error) {
	in, err := forge.GetInstallation(ctx, id)
	if err != nil {
		return in, 0, fmt.Errorf("read installation %d from GitHub: %w", id, err)
	}
	if err := s.store.UpsertInstallation(ctx, in); err != nil {
		return in, 0, err
	}
	var repos []store.InstallationRepo
	if in.SuspendedAt == nil {
		if repos, err = forge.ListRepositories(ctx, id); err != nil {
			return in, 0, fmt.Errorf("list repositories of installation %d: %w", id, err)
		}
	}
	if err := s.store.ReplaceInstallationRepos(ctx, id, repos); err != nil {
		return in, 0, err
	}
	return in, len(repos), nil
}

// Deleted records that the App was uninstalled.
func (s *Service) Deleted(ctx context.Context, id int64) error {
	return s.store.MarkInstallationDeleted(ctx, id)
}
