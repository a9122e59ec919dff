package app

import (
	"fmt"
	"time"

	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/config"
)

// NewClientCreator builds go-githubapp's ClientCreator with an HTTP cache,
// so unchanged reads are answered 304 and cost no rate limit. Every cached
// read is revalidated (alwaysValidate): GitHub marks responses
// max-age=60, and serving them unvalidated would hide changes for a minute.
func NewClientCreator(cfg config.Config) (githubapp.ClientCreator, error) {
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg.GitHub,
		githubapp.WithClientUserAgent("campaignbot/"+Version),
		githubapp.WithClientTimeout(30*time.Second),
		githubapp.WithClientCaching(true, func() httpcache.Cache { return httpcache.NewMemoryCache() }),
	)
	if err != nil {
		return nil, fmt.Errorf("create GitHub client creator: %w", err)
	}
	return cc, nil
}
