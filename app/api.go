package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-github/v74/github"
	"github.com/google/uuid"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/handlers/api"
	"github.com/campaignbot/campaignbot/handlers/events"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/store"
)

// newAPI builds the REST API (/api/v1/). storage may be nil (opened when
// logs are first asked for); control may be nil (run actions answer 503).
func newAPI(cfg config.Config, cc githubapp.ClientCreator, st *store.Store, targets events.Targets, storage artifacts.Storage, control api.RunControl) *api.Handler {
	c := api.Config{
		Store:         st,
		ControlRepo:   cfg.Campaign.ControlRepo,
		Control:       control,
		Selector:      targets,
		Installations: controlInstallation{st: st, cc: cc, repo: cfg.Campaign.ControlRepo},
	}
	c.Logs = &artifactLogs{storage: storage, meta: st, open: func() (artifacts.Storage, error) { return newArtifactStorage(cfg) }}
	return api.New(c)
}

// controlInstallation finds the control repository's installation: from
// the synced installation repositories (free), else by asking GitHub
// (one App request).
type controlInstallation struct {
	st   *store.Store
	cc   githubapp.ClientCreator
	repo string
}

func (c controlInstallation) ControlInstallation(ctx context.Context) (int64, error) {
	if c.repo == "" {
		return 0, fmt.Errorf("%w: CAMPAIGN_CONTROL_REPO is not set", api.ErrNoInstallation)
	}
	id, ok, err := c.st.InstallationForRepo(ctx, c.repo)
	if err != nil || ok {
		return id, err
	}
	client, err := c.cc.NewAppClient()
	if err != nil {
		return 0, fmt.Errorf("create App client: %w", err)
	}
	owner, name, _ := strings.Cut(c.repo, "/")
	inst, _, err := client.Apps.FindRepositoryInstallation(ctx, owner, name)
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound {
		return 0, fmt.Errorf("%w (%s)", api.ErrNoInstallation, c.repo)
	}
	if err != nil {
		return 0, fmt.Errorf("find the installation of %s: %w", c.repo, err)
	}
	return inst.GetID(), nil
}

// artifactLogs opens a task's logs artifact from the artifact storage,
// opened on first use when the server has none of its own (no side
// effects at start-up for a server that never serves logs).
type artifactLogs struct {
	mu      sync.Mutex
	storage artifacts.Storage
	open    func() (artifacts.Storage, error)
	meta    artifacts.MetaStore
}

func (l *artifactLogs) OpenLogs(ctx context.Context, taskID uuid.UUID) (io.ReadCloser, store.Artifact, bool, error) {
	l.mu.Lock()
	if l.storage == nil {
		s, err := l.open()
		if err != nil {
			l.mu.Unlock()
			return nil, store.Artifact{}, false, err
		}
		l.storage = s
	}
	storage := l.storage
	l.mu.Unlock()
	rc, a, err := artifacts.OpenCurrent(ctx, storage, l.meta, taskID, artifacts.KindLogs)
	if errors.Is(err, artifacts.ErrNotFound) {
		return nil, a, false, nil
	}
	if err != nil {
		return nil, a, false, err
	}
	return rc, a, true, nil
}
