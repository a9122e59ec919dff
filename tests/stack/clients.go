package stack

import (
	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/redis/go-redis/v9"

	"github.com/campaignbot/campaignbot/app"
	"github.com/campaignbot/campaignbot/campaigns/status"
	"github.com/campaignbot/campaignbot/handlers/tasks"
	"github.com/campaignbot/campaignbot/queue"
)

// What tests that wire services by hand (a Starter, a Control, a
// reconciler) need from the stack, closed when the test ends.

// Redis returns a new client of the stack's Redis database.
func (s *Stack) Redis() *redis.Client {
	s.T.Helper()
	opt, err := redis.ParseURL(s.Config.RedisURL)
	if err != nil {
		s.T.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	s.T.Cleanup(func() { rdb.Close() })
	return rdb
}

// Queue returns a queue client over rdb with the stack's retry setting.
func (s *Stack) Queue(rdb redis.UniversalClient) *queue.Client {
	q := queue.NewClient(rdb, s.Config.Worker.MaxRetry)
	s.T.Cleanup(func() { q.Close() })
	return q
}

// ClientCreator returns the app's ClientCreator for githubfake's App.
func (s *Stack) ClientCreator() githubapp.ClientCreator {
	s.T.Helper()
	cc, err := app.NewClientCreator(s.Config)
	if err != nil {
		s.T.Fatal(err)
	}
	return cc
}

// InstallationClient returns a REST client of an installation, as the app's.
func (s *Stack) InstallationClient(installationID int64) *github.Client {
	s.T.Helper()
	gh, err := s.ClientCreator().NewInstallationClient(installationID)
	if err != nil {
		s.T.Fatal(err)
	}
	return gh
}

// Dashboards returns run dashboards on cc that schedule their updates on q.
func (s *Stack) Dashboards(cc githubapp.ClientCreator, q *queue.Client) *status.Dashboards {
	return status.NewDashboards(s.Store, tasks.CheckRuns{ClientCreator: cc}, q, nil, s.Config.Campaign.DashboardEvery)
}
