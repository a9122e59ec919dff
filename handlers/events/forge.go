package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/store"
)

// forge adapts go-github to installations.Forge.
type forge struct {
	app  *github.Client
	inst *github.Client
}

func newForge(cc githubapp.ClientCreator, installationID int64) (*forge, error) {
	app, err := cc.NewAppClient()
	if err != nil {
		return nil, fmt.Errorf("create app client: %w", err)
	}
	inst, err := cc.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("create installation client: %w", err)
	}
	return &forge{app: app, inst: inst}, nil
}

func (f *forge) GetInstallation(ctx context.Context, id int64) (store.Installation, error) {
	gi, _, err := f.app.Apps.GetInstallation(ctx, id)
	if err != nil {
		return store.Installation{}, fmt.Errorf("GET /app/installations/%d: %w", id, err)
	}
	in := store.Installation{
		ID:                  id,
		AccountLogin:        gi.GetAccount().GetLogin(),
		AccountType:         gi.GetAccount().GetType(),
		AccountID:           gi.GetAccount().GetID(),
		RepositorySelection: gi.GetRepositorySelection(),
		Permissions:         permissionsMap(gi.GetPermissions()),
		Events:              gi.Events,
	}
	if gi.SuspendedAt != nil {
		t := gi.SuspendedAt.Time
		in.SuspendedAt = &t
	}
	return in, nil
}

func (f *forge) ListRepositories(ctx context.Context, _ int64) ([]store.InstallationRepo, error) {
	var out []store.InstallationRepo
	opt := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := f.inst.Apps.ListRepos(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("GET /installation/repositories page %d: %w", opt.Page, err)
		}
		for _, r := range page.Repositories {
			out = append(out, store.InstallationRepo{ID: r.GetID(), FullName: r.GetFullName(), Private: r.GetPrivate()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// permissionsMap flattens go-github's permissions struct to name -> level
// through its JSON form, so new permission kinds need no code change.
func permissionsMap(p *github.InstallationPermissions) map[string]string {
	out := map[string]string{}
	if p == nil {
		return out
	}
	var m map[string]any
	if b, err := json.Marshal(p); err == nil && json.Unmarshal(b, &m) == nil {
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}
