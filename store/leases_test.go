package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

// runOfTask reads the run an inserted task belongs to.
func runOfTask(t *testing.T, st *store.Store) int64 {
	t.Helper()
	task := insertArtifactTask(t, st)
	var runID int64
	if err := st.Pool().QueryRow(context.Background(), `SELECT run_id FROM repo_tasks WHERE id = $1`, task).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	return runID
}

func TestRunLeases(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	run := runOfTask(t, st)

	var inner []string
	ok, err := st.WithRunLock(ctx, run, func(ctx context.Context) error {
		// The same purpose is busy; the other purpose is not.
		again, err := st.WithRunLock(ctx, run, func(context.Context) error { inner = append(inner, "dashboard"); return nil })
		if err != nil || again {
			t.Errorf("a second dashboard lease while one is held: %v %v", again, err)
		}
		slack, err := st.WithSlackLock(ctx, run, func(context.Context) error { inner = append(inner, "slack"); return nil })
		if err != nil || !slack {
			t.Errorf("the Slack lease is independent of the dashboard's: %v %v", slack, err)
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Error("work under a lease has a deadline shorter than the lease")
		}
		return nil
	})
	if err != nil || !ok || len(inner) != 1 || inner[0] != "slack" {
		t.Fatalf("outer lease ok=%v err=%v inner=%v", ok, err, inner)
	}
	// Released: the next holder gets it, and fn's error comes back.
	boom := errors.New("boom")
	if ok, err := st.WithRunLock(ctx, run, func(context.Context) error { return boom }); !ok || !errors.Is(err, boom) {
		t.Fatalf("after release: %v %v", ok, err)
	}
	// A holder that died leaves a lease that expires by itself.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO run_leases (run_id, purpose, holder, expires_at) VALUES ($1, $2, gen_random_uuid(), now() + interval '1 hour')`, run, store.LeaseDashboard); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.WithRunLock(ctx, run, func(context.Context) error { return nil }); ok || err != nil {
		t.Fatalf("a live lease of a dead holder still counts: %v %v", ok, err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE run_leases SET expires_at = now() - interval '1 second' WHERE run_id = $1`, run); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.WithRunLock(ctx, run, func(context.Context) error { return nil }); !ok || err != nil {
		t.Fatalf("an expired lease is taken over: %v %v", ok, err)
	}
}

// Work under a lease can use the whole pool: the lease pins no connection
// (session advisory locks did, and a small pool deadlocked).
func TestRunLeaseHoldsNoConnection(t *testing.T) {
	_, dbURL := storetest.NewStore(t)
	st, err := store.Open(context.Background(), dbURL+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := runOfTask(t, st)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ok, err := st.WithRunLock(ctx, run, func(ctx context.Context) error {
		_, err := st.LoadRunView(ctx, run)
		return err
	})
	if !ok || err != nil {
		t.Fatalf("work under a lease with a one-connection pool: %v %v", ok, err)
	}
}
