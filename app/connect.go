package app

import (
	"context"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/campaigns/publisher"
	"github.com/campaignbot/campaignbot/config"
	"github.com/campaignbot/campaignbot/queue"
	"github.com/campaignbot/campaignbot/store"
)

// connect opens what every role needs: PostgreSQL, Redis and the GitHub
// App's client creator; on an error nothing is left open.
func connect(ctx context.Context, cfg config.Config) (*store.Store, *redis.Client, githubapp.ClientCreator, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, nil, err
	}
	rdb, err := queue.OpenRedis(ctx, cfg.RedisURL)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	cc, err := NewClientCreator(cfg)
	if err != nil {
		st.Close()
		rdb.Close()
		return nil, nil, nil, err
	}
	// Every write counts against GitHub's content limits; the publisher
	// admits its own from the same Redis windows (docs/architecture.md).
	cc = countWrites(cc, publisher.New(rdb, publisherConfig(cfg)))
	return st, rdb, cc, nil
}

// publisherConfig is the publisher's throttle configuration: the workers'
// publisher and the write counter share its Redis windows.
func publisherConfig(cfg config.Config) publisher.Config {
	return publisher.Config{ContentPerMinute: cfg.Publisher.ContentPerMinute, ContentPerHour: cfg.Publisher.ContentPerHour}
}
