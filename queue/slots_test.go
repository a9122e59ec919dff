package queue_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store/storetest"
)

func TestSlotsCapConcurrentHolders(t *testing.T) {
	ctx := context.Background()
	rdb, err := queue.OpenRedis(ctx, storetest.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	slots := queue.NewSlots(rdb)
	caps := []queue.Cap{{Key: "global", Limit: 5}, {Key: "campaign:1", Limit: 3}}
	var inside, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := string(rune('a' + i))
			for {
				ok, err := slots.Acquire(ctx, holder, time.Minute, caps...)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					break
				}
				time.Sleep(time.Millisecond)
			}
			n := inside.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			inside.Add(-1)
			slots.Release(ctx, holder, caps...)
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrent holders = %d, want the tightest cap, 3", p)
	}
}

func TestSlotsExpireWithTheirLease(t *testing.T) {
	ctx := context.Background()
	rdb, err := queue.OpenRedis(ctx, storetest.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	slots := queue.NewSlots(rdb)
	c := queue.Cap{Key: "installation:7", Limit: 1}
	if ok, _ := slots.Acquire(ctx, "dead-worker", 50*time.Millisecond, c); !ok {
		t.Fatal("first acquire failed")
	}
	if ok, _ := slots.Acquire(ctx, "other", time.Minute, c); ok {
		t.Fatal("cap of 1 admitted a second holder")
	}
	time.Sleep(80 * time.Millisecond) // the first holder died without releasing
	if ok, _ := slots.Acquire(ctx, "other", time.Minute, c); !ok {
		t.Fatal("an expired lease still holds the slot")
	}
	if ok, _ := slots.Acquire(ctx, "x", time.Minute, queue.Cap{Key: "unlimited", Limit: 0}); !ok {
		t.Fatal("limit 0 must mean unlimited")
	}
}
