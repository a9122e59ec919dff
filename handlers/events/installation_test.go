package events

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/campaignbot/campaignbot/campaigns/installations"
	"github.com/campaignbot/campaignbot/fixtures/githubfake/contract"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

// GitHub's own example of an uninstall marks the installation deleted and
// forgets its repositories, without calling GitHub (the App can no longer).
func TestInstallationDeletedFromGitHubExample(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	payload, err := contract.ExamplePayload("installation", "deleted")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	id := p.Installation.ID
	if err := st.UpsertInstallation(ctx, store.Installation{ID: id, AccountLogin: "octocat", AccountType: "User", AccountID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceInstallationRepos(ctx, id, []store.InstallationRepo{{ID: 1, FullName: "octocat/hello"}}); err != nil {
		t.Fatal(err)
	}
	h := &Installation{Service: installations.NewService(st)} // no ClientCreator: it must not be needed
	if err := h.Handle(ctx, "installation", "d-1", payload); err != nil {
		t.Fatal(err)
	}
	in, ok, err := st.GetInstallation(ctx, id)
	if err != nil || !ok || in.DeletedAt == nil {
		t.Fatalf("installation not marked deleted: %+v %v %v", in, ok, err)
	}
	if repos, _ := st.InstallationRepos(ctx, id); len(repos) != 0 {
		t.Fatalf("repositories kept after uninstall: %v", repos)
	}
}

func TestHandlersRejectUndecodablePayloads(t *testing.T) {
	for _, h := range []interface {
		Handle(context.Context, string, string, []byte) error
	}{&Installation{}, &InstallationRepositories{}, &Ping{}} {
		if err := h.Handle(context.Background(), "x", "d", []byte(`{"installation":`)); err == nil {
			t.Errorf("%T accepted a broken payload", h)
		}
	}
	if err := (&Installation{}).Handle(context.Background(), "installation", "d", []byte(`{"action":"created"}`)); err == nil {
		t.Error("an installation event without installation id was accepted")
	}
}
