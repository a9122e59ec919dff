package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

// insertArtifactTask inserts the campaign -> spec version -> run -> repo
// task chain an artifact row needs and returns the task id.
func insertArtifactTask(t *testing.T, st *store.Store) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id := uuid.New()
	var campaignID, specID, runID int64
	err := st.Pool().QueryRow(ctx, `INSERT INTO campaigns (name, control_repo, spec_path) VALUES ($1, 'o/control', 'campaigns/x.yaml') RETURNING id`,
		"c-"+id.String()[:8]).Scan(&campaignID)
	if err == nil {
		err = st.Pool().QueryRow(ctx, `INSERT INTO spec_versions (campaign_id, version, yaml, content_hash, commit_sha) VALUES ($1, 1, 'version: 1', 'h', 'sha') RETURNING id`,
			campaignID).Scan(&specID)
	}
	if err == nil {
		err = st.Pool().QueryRow(ctx, `INSERT INTO runs (campaign_id, spec_version_id, state) VALUES ($1, $2, 'running') RETURNING id`,
			campaignID, specID).Scan(&runID)
	}
	if err == nil {
		_, err = st.Pool().Exec(ctx, `INSERT INTO repo_tasks (id, run_id, repository, state, dedupe_key) VALUES ($1, $2, 'o/r', 'running', $3)`,
			id, runID, "dk-"+id.String())
	}
	if err != nil {
		t.Fatalf("insert task chain: %v", err)
	}
	return id
}

func TestReplaceArtifact(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	task := insertArtifactTask(t, st)

	if _, ok, err := st.CurrentArtifact(ctx, task, "result"); err != nil || ok {
		t.Fatalf("empty task: ok=%v err=%v", ok, err)
	}
	first, replaced, err := st.ReplaceArtifact(ctx, store.Artifact{TaskID: task, Kind: "result", SHA256: "aa", SizeBytes: 1, StorageKey: "k1"})
	if err != nil || len(replaced) != 0 || first.ID == 0 {
		t.Fatalf("first: %+v %v %v", first, replaced, err)
	}
	logs, _, err := st.ReplaceArtifact(ctx, store.Artifact{TaskID: task, Kind: "logs", SHA256: "cc", SizeBytes: 3, StorageKey: "k3"})
	if err != nil {
		t.Fatal(err)
	}
	second, replaced, err := st.ReplaceArtifact(ctx, store.Artifact{TaskID: task, Kind: "result", SHA256: "bb", SizeBytes: 2, StorageKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(replaced) != 1 || replaced[0].StorageKey != "k1" {
		t.Fatalf("replaced = %+v, want the k1 row", replaced)
	}
	cur, ok, err := st.CurrentArtifact(ctx, task, "result")
	if err != nil || !ok || cur.ID != second.ID || cur.StorageKey != "k2" || cur.SHA256 != "bb" || cur.SizeBytes != 2 {
		t.Fatalf("current = %+v ok=%v err=%v", cur, ok, err)
	}
	all, err := st.TaskArtifacts(ctx, task)
	if err != nil || len(all) != 2 || all[0].ID != logs.ID || all[1].ID != second.ID {
		t.Fatalf("task artifacts = %+v %v; the logs artifact must survive a result replace", all, err)
	}
}

func TestReplaceArtifactUnknownTask(t *testing.T) {
	st, _ := storetest.NewStore(t)
	_, _, err := st.ReplaceArtifact(context.Background(), store.Artifact{TaskID: uuid.New(), Kind: "result", SHA256: "aa", StorageKey: "k"})
	if !errors.Is(err, store.ErrArtifactTaskMissing) {
		t.Fatalf("err = %v, want ErrArtifactTaskMissing", err)
	}
}

// Concurrent replaces of one task+kind leave exactly one row, and every
// other row is reported as replaced by exactly one caller (so each object
// is deleted once).
func TestReplaceArtifactConcurrent(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	task := insertArtifactTask(t, st)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	replacedKeys := map[string]int{}
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, rep, err := st.ReplaceArtifact(ctx, store.Artifact{TaskID: task, Kind: "result", SHA256: "x", SizeBytes: 1, StorageKey: fmt.Sprintf("k%d", i)})
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			for _, r := range rep {
				replacedKeys[r.StorageKey]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := st.TaskArtifacts(ctx, task)
	if err != nil || len(all) != 1 {
		t.Fatalf("rows = %+v %v, want exactly one", all, err)
	}
	if len(replacedKeys) != n-1 {
		t.Fatalf("replaced keys = %v, want %d distinct", replacedKeys, n-1)
	}
	for k, c := range replacedKeys {
		if c != 1 || k == all[0].StorageKey {
			t.Fatalf("key %s replaced %d times (survivor %s)", k, c, all[0].StorageKey)
		}
	}
}
