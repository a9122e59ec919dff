package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/store/storetest"
)

func TestSelectionCache(t *testing.T) {
	st, _ := storetest.NewStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

	if _, ok, err := st.GetSelection(ctx, "k", now); err != nil || ok {
		t.Fatalf("empty cache: ok=%v err=%v", ok, err)
	}
	if err := st.PutSelection(ctx, "k", []byte(`{"a":1}`), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.GetSelection(ctx, "k", now)
	if err != nil || !ok || string(got) != `{"a": 1}` {
		t.Fatalf("hit: %s ok=%v err=%v", got, ok, err)
	}
	if err := st.PutSelection(ctx, "k", []byte(`{"a":2}`), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := st.GetSelection(ctx, "k", now); string(got) != `{"a": 2}` {
		t.Fatalf("replace: %s", got)
	}
	if _, ok, _ := st.GetSelection(ctx, "k", now.Add(time.Minute)); ok {
		t.Fatal("expired row returned")
	}
	// A later write sweeps the expired row.
	if err := st.PutSelection(ctx, "other", []byte(`{}`), now.Add(2*time.Hour), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM selection_cache`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows after sweep: %d err=%v", n, err)
	}
}
