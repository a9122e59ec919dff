package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/fixtures/githubfake"
)

func TestCheckControlRepoSaysWhenTheAppIsNotInstalled(t *testing.T) {
	ctx := context.Background()
	fake := githubfake.NewT(t)
	if _, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "installed", Repos: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.CreateOrg(ctx, githubfake.OrgSpec{Name: "elsewhere", Repos: 1, NoInstall: true}); err != nil {
		t.Fatal(err)
	}
	cc := fakeClientCreator(t, fake)
	for repo, want := range map[string]string{
		"installed/repo-0001": "control repository reachable",
		"elsewhere/repo-0001": "not installed on the control repository",
		"nobody/nothing":      "not installed on the control repository",
		"":                    "CAMPAIGN_CONTROL_REPO is not set",
	} {
		var buf bytes.Buffer
		if err := checkControlRepo(ctx, cc, repo, zerolog.New(&buf)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%q: log %q lacks %q", repo, buf.String(), want)
		}
	}
}

// fakeClientCreator is the app's ClientCreator for githubfake's App.
func fakeClientCreator(t *testing.T, fake *githubfake.Fake) githubapp.ClientCreator {
	t.Helper()
	cfg := config.Default()
	cfg.GitHub.V3APIURL, cfg.GitHub.V4APIURL = fake.V3URL(), fake.V4URL()
	cfg.GitHub.App.IntegrationID, cfg.GitHub.App.PrivateKey = fake.AppID(), string(fake.PrivateKeyPEM())
	cc, err := NewClientCreator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}
