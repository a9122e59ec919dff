package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/store"
)

// servicesHint is the one line that says how to start what is missing.
const servicesHint = "start PostgreSQL and Redis with `make services` (or point DATABASE_URL / REDIS_URL at running ones)"

// database is the sandbox's own PostgreSQL database, dropped and created
// afresh for every story (a story starts from nothing), and held with an
// advisory lock so two sandboxes never share it.
type database struct {
	URL     string
	Name    string
	admin   *pgx.Conn
	dropped bool
}

// openDatabase creates and migrates the database name on the server of
// baseURL.
func openDatabase(ctx context.Context, baseURL, name string) (*database, error) {
	adminURL, err := withDatabase(baseURL, "postgres")
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL is not reachable (%s): %s", redactURL(adminURL), servicesHint)
	}
	var locked bool
	if err := admin.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", "campaignbot sandbox "+name).Scan(&locked); err != nil {
		admin.Close(ctx)
		return nil, fmt.Errorf("lock the sandbox database: %w", err)
	}
	if !locked {
		admin.Close(ctx)
		return nil, fmt.Errorf("another sandbox is using the database %s (stop it, or pass --database NAME)", name)
	}
	db := &database{Name: name, admin: admin}
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		db.Close()
		return nil, fmt.Errorf("drop the previous sandbox database %s: %w", name, err)
	}
	if db.URL, err = withDatabase(baseURL, name); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := store.Migrate(ctx, db.URL); err != nil {
		db.Close()
		return nil, fmt.Errorf("create and migrate %s: %w", name, err)
	}
	return db, nil
}

// Drop removes the database (the story is over and nothing is kept).
func (d *database) Drop(ctx context.Context) error {
	if _, err := d.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", d.Name, err)
	}
	d.dropped = true
	return nil
}

// Close releases the lock.
func (d *database) Close() { d.admin.Close(context.Background()) }

func withDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse %q: %w", redactURL(raw), err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// redisDB is one Redis database number leased for the story, with the
// test suites' lease protocol (store/storetest: keys
// campaignbot:test-lease:dbN in database 0), so a sandbox and running
// tests never flush each other's queues. It is flushed when leased: the
// publisher's throttle windows of an earlier story must not slow this one.
type redisDB struct {
	URL   string
	DB    int
	ctl   *redis.Client
	key   string
	owner string
	stop  context.CancelFunc
	done  chan struct{}
}

const redisLeaseTTL = 10 * time.Minute

func leaseRedis(ctx context.Context, baseURL string) (*redisDB, error) {
	opt, err := redis.ParseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	base := *opt
	base.DB = 0
	ctl := redis.NewClient(&base)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := ctl.Ping(pctx).Err(); err != nil {
		ctl.Close()
		return nil, fmt.Errorf("the Redis server is not reachable (%s): %s", base.Addr, servicesHint)
	}
	owner := fmt.Sprintf("sandbox-%d", time.Now().UnixNano())
	deadline := time.Now().Add(time.Minute)
	for {
		for db := 15; db >= 1; db-- { // from the top: tests lease from the bottom
			key := fmt.Sprintf("campaignbot:test-lease:db%d", db)
			ok, err := ctl.SetNX(ctx, key, owner, redisLeaseTTL).Result()
			if err != nil {
				ctl.Close()
				return nil, fmt.Errorf("lease a Redis database: %w", err)
			}
			if !ok {
				continue
			}
			o := base
			o.DB = db
			c := redis.NewClient(&o)
			err = c.FlushDB(ctx).Err()
			c.Close()
			if err != nil {
				ctl.Del(ctx, key)
				ctl.Close()
				return nil, fmt.Errorf("flush Redis database %d: %w", db, err)
			}
			u, err := url.Parse(baseURL)
			if err != nil {
				ctl.Close()
				return nil, fmt.Errorf("REDIS_URL: %w", err)
			}
			u.Path = fmt.Sprintf("/%d", db)
			rctx, stop := context.WithCancel(context.Background())
			r := &redisDB{URL: u.String(), DB: db, ctl: ctl, key: key, owner: owner, stop: stop, done: make(chan struct{})}
			go r.renew(rctx)
			return r, nil
		}
		if time.Now().After(deadline) {
			ctl.Close()
			return nil, errors.New("no free Redis database (1-15) for a minute: too many test runs at once")
		}
		select {
		case <-ctx.Done():
			ctl.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// renew keeps the lease while the sandbox runs (it may be kept for hours).
func (r *redisDB) renew(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(redisLeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.ctl.Expire(ctx, r.key, redisLeaseTTL)
		}
	}
}

// Release flushes the database and gives the lease back.
func (r *redisDB) Release() {
	r.stop()
	<-r.done
	ctx := context.Background()
	o := *r.ctl.Options()
	o.DB = r.DB
	c := redis.NewClient(&o)
	c.FlushDB(ctx)
	c.Close()
	if v, _ := r.ctl.Get(ctx, r.key).Result(); v == r.owner {
		r.ctl.Del(ctx, r.key)
	}
	r.ctl.Close()
}

// sanitizeName keeps a database name to [a-z0-9_].
func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
