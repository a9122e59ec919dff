package status_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/campaigns/status"
)

func TestCoalesceSlot(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name   string
		kind   string
		run    int64
		at     time.Time
		every  time.Duration
		wantID string
		wantIn time.Duration
	}{
		{"start of an interval", "dashboard", 7, base, 10 * time.Second, "dashboard:7:180000000", 10 * time.Second},
		{"same interval shares the task", "dashboard", 7, base.Add(9 * time.Second), 10 * time.Second, "dashboard:7:180000000", time.Second},
		{"next interval, next task", "dashboard", 7, base.Add(10 * time.Second), 10 * time.Second, "dashboard:7:180000001", 10 * time.Second},
		{"Slack's slot is its own", "slack", 7, base, 10 * time.Second, "slack:7:180000000", 10 * time.Second},
		{"another run", "dashboard", 8, base.Add(2500 * time.Millisecond), 5 * time.Second, "dashboard:8:360000000", 2500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, in := status.CoalesceSlot(tt.kind, tt.run, tt.at, tt.every)
			if id != tt.wantID || in != tt.wantIn {
				t.Fatalf("CoalesceSlot = %q %v, want %q %v", id, in, tt.wantID, tt.wantIn)
			}
		})
	}
}

func TestSerialised(t *testing.T) {
	busy := errors.New("busy")
	boom := errors.New("boom")
	held := func(context.Context, int64, func(context.Context) error) (bool, error) { return false, nil }
	free := func(ctx context.Context, _ int64, fn func(context.Context) error) (bool, error) { return true, fn(ctx) }
	broken := func(context.Context, int64, func(context.Context) error) (bool, error) { return false, boom }
	ran := 0
	update := func(context.Context, int64) error { ran++; return nil }
	failing := func(context.Context, int64) error { ran++; return boom }
	tests := []struct {
		name    string
		lock    status.RunLock
		update  func(context.Context, int64) error
		want    error
		wantRan int
	}{
		{"lock free: the update runs", free, update, nil, 1},
		{"lock held: busy, nothing runs", held, update, busy, 0},
		{"the lock fails: its error", broken, update, boom, 0},
		{"the update fails: its error", free, failing, boom, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran = 0
			err := status.Serialised(context.Background(), 1, tt.lock, busy, tt.update)
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) || ran != tt.wantRan {
				t.Fatalf("err %v ran %d, want %v %d", err, ran, tt.want, tt.wantRan)
			}
		})
	}
}
