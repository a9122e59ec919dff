package orchestrator

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRecordOutcome(t *testing.T) {
	saved := recordBackoff
	recordBackoff = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	t.Cleanup(func() { recordBackoff = saved })
	blip := errors.New("connection reset")
	tests := []struct {
		name      string
		failures  int
		cancelled bool
		wantErr   bool
		wantCalls int
	}{
		{"first try", 0, false, false, 1},
		{"through a blip", 2, false, false, 3},
		{"the backoff is spent", 10, false, true, 4},
		{"ctx ended: no more tries", 10, true, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			calls := 0
			err := recordOutcome(ctx, "x", func(context.Context) error {
				calls++
				if calls <= tt.failures {
					return blip
				}
				return nil
			})
			if (err != nil) != tt.wantErr || calls != tt.wantCalls || (err != nil && !errors.Is(err, blip)) {
				t.Fatalf("err %v after %d calls; want error %v after %d", err, calls, tt.wantErr, tt.wantCalls)
			}
		})
	}
}
