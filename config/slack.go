package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// slackUserID is a Slack user id (U…, or W… on Enterprise Grid).
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// slackChannelID is a channel id (public, private or direct).
var slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]+$`)

// githubLogin is a GitHub login.
var githubLogin = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

func (s Slack) problems() Problems {
	var p Problems
	if s.UpdateEvery < time.Second {
		p = append(p, "SLACK_UPDATE_EVERY must be at least 1s (Slack allows about one chat.update per second per channel)")
	}
	if s.BotToken != "" && !strings.HasPrefix(s.BotToken, "xox") {
		p = append(p, "SLACK_BOT_TOKEN does not look like a Slack token (xoxb-…)")
	}
	if s.APIURL != "" {
		if err := checkURL(s.APIURL, "http", "https"); err != nil {
			p = append(p, fmt.Sprintf("SLACK_API_URL: %v", err))
		} else if !strings.HasSuffix(s.APIURL, "/") {
			p = append(p, "SLACK_API_URL must end in /")
		}
	}
	if ch := s.DefaultChannel; ch != "" && !strings.HasPrefix(ch, "#") && !slackChannelID.MatchString(ch) {
		p = append(p, fmt.Sprintf("SLACK_DEFAULT_CHANNEL: %q is neither #name nor a channel id", ch))
	}
	ids := make([]string, 0, len(s.Users))
	for id := range s.Users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if !slackUserID.MatchString(id) {
			p = append(p, fmt.Sprintf("slack.users: %q is not a Slack user id (U012AB3CD)", id))
		}
		if !githubLogin.MatchString(s.Users[id]) {
			p = append(p, fmt.Sprintf("slack.users: %q is not a GitHub login (for %s)", s.Users[id], id))
		}
	}
	return p
}
