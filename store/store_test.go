package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

func TestMigrateCreatesDatabaseAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.NewDatabase(t) // an existing, migrated database
	res, err := store.Migrate(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if res.CreatedDatabase || len(res.Applied) != 0 || res.Version < 1 {
		t.Fatalf("second migrate should be a no-op, got %+v", res)
	}

	// A database that does not exist yet is created, then migrated.
	fresh := strings.Replace(dbURL, "/cbtest_", "/cbfresh_", 1)
	t.Cleanup(func() { dropDatabase(t, fresh) })
	res, err = store.Migrate(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if !res.CreatedDatabase || len(res.Applied) == 0 {
		t.Fatalf("want created + applied, got %+v", res)
	}
	res, err = store.Migrate(ctx, fresh)
	if err != nil || res.CreatedDatabase || len(res.Applied) != 0 {
		t.Fatalf("rerun not a no-op: %+v %v", res, err)
	}
}

func dropDatabase(t *testing.T, dbURL string) {
	st, err := store.Open(context.Background(), strings.Replace(dbURL, dbURL[strings.LastIndex(dbURL, "/"):], "/postgres?sslmode=disable", 1))
	if err != nil {
		t.Log(err)
		return
	}
	defer st.Close()
	name := dbURL[strings.LastIndex(dbURL, "/")+1:]
	name = strings.SplitN(name, "?", 2)[0]
	if _, err := st.Pool().Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Log(err)
	}
}

func TestInsertDeliveryDedupesConcurrently(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	inserted := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ins, err := st.InsertDelivery(ctx, store.Delivery{ID: "d-1", Event: "ping", Payload: []byte(`{}`)})
			if err != nil {
				t.Error(err)
				return
			}
			if ins {
				mu.Lock()
				inserted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if inserted != 1 {
		t.Fatalf("inserted %d times, want 1", inserted)
	}
	n, err := st.CountDeliveries(ctx, "")
	if err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
}

func TestClaimAndFinishDelivery(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	if _, _, err := st.InsertDelivery(ctx, store.Delivery{ID: "d-2", Event: "push", InstallationID: 7, Repository: "o/r", Payload: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	d, ok, err := st.ClaimDelivery(ctx, "d-2")
	if err != nil || !ok || d.Event != "push" || d.InstallationID != 7 || d.Attempts != 1 {
		t.Fatalf("claim: %+v %v %v", d, ok, err)
	}
	if err := st.FinishDelivery(ctx, "d-2", errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetDelivery(ctx, "d-2")
	if err != nil || got.State != store.DeliveryFailed || got.LastError != "boom" {
		t.Fatalf("after failure: %+v %v", got, err)
	}
	if _, ok, _ := st.ClaimDelivery(ctx, "d-2"); !ok {
		t.Fatal("a failed delivery must be claimable for its retry")
	}
	if err := st.FinishDelivery(ctx, "d-2", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.ClaimDelivery(ctx, "d-2"); ok {
		t.Fatal("a processed delivery must not be claimed again")
	}
	old, err := st.UnfinishedDeliveries(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(old) != 0 {
		t.Fatalf("processed delivery listed as unfinished: %v %v", old, err)
	}
}

func TestInstallations(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	in := store.Installation{ID: 5, AccountLogin: "octo-org", AccountType: "Organization", AccountID: 9,
		RepositorySelection: "selected", Permissions: map[string]string{"contents": "write"}, Events: []string{"push"}}
	if err := st.UpsertInstallation(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceInstallationRepos(ctx, 5, []store.InstallationRepo{{ID: 1, FullName: "octo-org/b"}, {ID: 2, FullName: "octo-org/a"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceInstallationRepos(ctx, 5, []store.InstallationRepo{{ID: 2, FullName: "octo-org/a"}}); err != nil {
		t.Fatal(err)
	}
	repos, err := st.InstallationRepos(ctx, 5)
	if err != nil || len(repos) != 1 || repos[0].FullName != "octo-org/a" {
		t.Fatalf("repos = %+v %v", repos, err)
	}
	if err := st.MarkInstallationDeleted(ctx, 5); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.GetInstallation(ctx, 5)
	if err != nil || !ok || got.DeletedAt == nil || got.Permissions["contents"] != "write" {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	if repos, _ := st.InstallationRepos(ctx, 5); len(repos) != 0 {
		t.Fatalf("deleted installation kept repos: %v", repos)
	}
}

func TestApplySpecSync(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	sync := func(valid []store.SyncedSpec, invalid ...string) store.SpecSyncResult {
		t.Helper()
		res, err := st.ApplySpecSync(ctx, store.SpecSync{ControlRepo: "o/control", CommitSHA: "c", Author: "a", Valid: valid, InvalidPaths: invalid})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a1 := store.SyncedSpec{Name: "a", Path: "campaigns/a.yaml", YAML: "1", ContentHash: "h1"}
	res := sync([]store.SyncedSpec{a1})
	if len(res.Created) != 1 || len(res.NewVersions) != 1 || res.NewVersions[0].Version != 1 {
		t.Fatalf("first sync: %+v", res)
	}
	if res := sync([]store.SyncedSpec{a1}); len(res.Created)+len(res.NewVersions)+len(res.Closed) != 0 || res.Unchanged != 1 {
		t.Fatalf("replayed sync changed something: %+v", res)
	}
	// Moved to another file with new content: same campaign, version 2.
	a2 := store.SyncedSpec{Name: "a", Path: "campaigns/renamed.yaml", YAML: "2", ContentHash: "h2"}
	if res := sync([]store.SyncedSpec{a2}); len(res.Created) != 0 || len(res.NewVersions) != 1 || res.NewVersions[0].Version != 2 {
		t.Fatalf("rename: %+v", res)
	}
	// The file turns invalid: kept. Then removed: closed. Then back with old content: reopened as version 3.
	if res := sync(nil, "campaigns/renamed.yaml"); len(res.Closed) != 0 {
		t.Fatalf("invalid file closed its campaign: %+v", res)
	}
	if res := sync(nil); len(res.Closed) != 1 {
		t.Fatalf("removal: %+v", res)
	}
	res = sync([]store.SyncedSpec{a1})
	if len(res.Reopened) != 1 || len(res.NewVersions) != 1 || res.NewVersions[0].Version != 3 {
		t.Fatalf("revert: %+v", res)
	}
}
