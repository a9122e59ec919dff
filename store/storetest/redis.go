package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBaseURL is the Redis server used by tests; CAMPAIGNBOT_TEST_REDIS_URL overrides it.
func RedisBaseURL() string {
	if v := os.Getenv("CAMPAIGNBOT_TEST_REDIS_URL"); v != "" {
		return v
	}
	return "redis://127.0.0.1:6379/0"
}

// NewRedis leases one of Redis's databases 1-15 to t (database 0 holds the
// leases, so parallel test binaries never share one), flushes it, and
// flushes and releases it when t ends. It returns the database's URL.
func NewRedis(t testing.TB) string {
	t.Helper()
	base, err := redis.ParseURL(RedisBaseURL())
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	ctl := redis.NewClient(base)
	t.Cleanup(func() { ctl.Close() })
	ctx := context.Background()
	if err := ctl.Ping(ctx).Err(); err != nil {
		t.Fatalf("storetest: redis at %s: %v (is Redis running? make services)", base.Addr, err)
	}
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	owner := hex.EncodeToString(token)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for db := 1; db <= 15; db++ {
			key := fmt.Sprintf("campaignbot:test-lease:db%d", db)
			ok, err := ctl.SetNX(ctx, key, owner, 10*time.Minute).Result()
			if err != nil {
				t.Fatalf("storetest: lease redis db: %v", err)
			}
			if !ok {
				continue
			}
			opt := *base
			opt.DB = db
			c := redis.NewClient(&opt)
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("storetest: flush redis db %d: %v", db, err)
			}
			t.Cleanup(func() {
				c.FlushDB(context.Background())
				c.Close()
				// Release only our own lease.
				if v, _ := ctl.Get(context.Background(), key).Result(); v == owner {
					ctl.Del(context.Background(), key)
				}
			})
			u, _ := url.Parse(RedisBaseURL())
			u.Path = fmt.Sprintf("/%d", db)
			return u.String()
		}
		if time.Now().After(deadline) {
			t.Fatal("storetest: no free redis database in 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
