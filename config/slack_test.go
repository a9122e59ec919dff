package config

import (
	"strings"
	"testing"
)

func TestSlackSettings(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		users   map[string]string
		problem string // "" for none
	}{
		{"user map from env", map[string]string{"SLACK_USERS": "U012AB3CD=octocat, W0ABC=hubot-2,"}, map[string]string{"U012AB3CD": "octocat", "W0ABC": "hubot-2"}, ""},
		{"pair without =", map[string]string{"SLACK_USERS": "U012AB3CD"}, nil, "SLACK_USERS"},
		{"bad user id", map[string]string{"SLACK_USERS": "octocat=U012AB3CD"}, nil, "is not a Slack user id"},
		{"bad login", map[string]string{"SLACK_USERS": "U012AB3CD=not a login"}, nil, "is not a GitHub login"},
		{"bad channel", map[string]string{"SLACK_DEFAULT_CHANNEL": "platform"}, nil, "SLACK_DEFAULT_CHANNEL"},
		{"too frequent", map[string]string{"SLACK_UPDATE_EVERY": "100ms"}, nil, "SLACK_UPDATE_EVERY"},
		{"api url without slash", map[string]string{"SLACK_API_URL": "http://127.0.0.1:1/api"}, nil, "must end in /"},
		{"good", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_DEFAULT_CHANNEL": "#platform", "SLACK_SIGNING_SECRET": "s"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load("", func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if err == nil {
				err = cfg.Validate(RoleMigrate)
			}
			switch {
			case c.problem == "" && err != nil:
				t.Fatalf("unexpected problem: %v", err)
			case c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)):
				t.Fatalf("got %v, want a problem mentioning %q", err, c.problem)
			}
			for id, login := range c.users {
				if cfg.Slack.Users[id] != login {
					t.Fatalf("users %v", cfg.Slack.Users)
				}
			}
		})
	}
}
