package ingest_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
	"github.com/campaignbot/campaignbot/store"
)

// TestInstallationEventsFromGitHubKeepInstallationsCurrent runs the whole
// path against githubfake: GitHub signs and sends the installation
// webhooks, the server stores and queues them, the worker re-reads the
// installation and its repositories through the App's clients.
func TestInstallationEventsFromGitHubKeepInstallationsCurrent(t *testing.T) {
	ctx := context.Background()
	fake := githubfake.NewT(t)
	e := newEnv(t, func(c *config.Config) {
		c.GitHub.V3APIURL = fake.V3URL()
		c.GitHub.V4APIURL = fake.V4URL()
		c.GitHub.App.IntegrationID = fake.AppID()
		c.GitHub.App.PrivateKey = string(fake.PrivateKeyPEM())
	})
	fake.SetWebhook(e.server.URL+"/api/github/hook", secret)
	e.startWorker(newRecorder("never-sent"))

	if _, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "octo-org", Repos: 3, NoInstall: true}); err != nil {
		t.Fatal(err)
	}
	id, err := fake.InstallApp(ctx, "octo-org", nil, []string{"repo-0001", "repo-0002"})
	if err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		repos, err := e.store.InstallationRepos(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range repos {
			out = append(out, r.FullName)
		}
		return out
	}
	waitFor(t, "the installation to be synced", func() bool { return len(names()) == 2 })
	in, ok, err := e.store.GetInstallation(ctx, id)
	if err != nil || !ok {
		t.Fatalf("installation not stored: %v", err)
	}
	if in.AccountLogin != "octo-org" || in.AccountType != "Organization" || in.Permissions["contents"] == "" || len(in.Events) == 0 {
		t.Fatalf("installation = %+v", in)
	}

	if err := fake.AddInstallationRepos(ctx, id, "repo-0003"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the added repository", func() bool { return len(names()) == 3 })
	if got := names(); !slices.Equal(got, []string{"octo-org/repo-0001", "octo-org/repo-0002", "octo-org/repo-0003"}) {
		t.Fatalf("repositories = %v", got)
	}

	// Every delivery GitHub sent was acknowledged and processed once.
	if err := fake.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range fake.Deliveries() {
		if d.Status != http.StatusAccepted {
			t.Errorf("delivery %s (%s) answered %d", d.ID, d.Event, d.Status)
		}
		waitFor(t, "delivery "+d.ID+" processed", func() bool {
			row, err := e.store.GetDelivery(ctx, d.ID)
			return err == nil && row.State == store.DeliveryProcessed
		})
	}
	// Two syncs: each one installation read and one page of repositories.
	st := fake.Stats()
	if n := st.Routes["GET /app/installations/{installation_id}"]; n != 2 {
		t.Errorf("GET installation %d times, want 2 (routes: %v)", n, st.Routes)
	}
	if n := st.Routes["GET /installation/repositories"]; n != 2 {
		t.Errorf("GET /installation/repositories %d times, want 2 (routes: %v)", n, st.Routes)
	}
	if len(st.Unsupported) != 0 {
		t.Errorf("unsupported routes used: %v", st.Unsupported)
	}
}
