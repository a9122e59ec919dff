package slack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// LinkStore keeps Slack-GitHub links and pending link requests.
type LinkStore interface {
	SlackLink(ctx context.Context, slackUserID string) (string, bool, error)
	CreateSlackLinkRequest(ctx context.Context, codeHash, slackUserID, login string, expires time.Time) error
	SlackLinkRequest(ctx context.Context, slackUserID string) (login, codeHash string, ok bool, err error)
	ConfirmSlackLink(ctx context.Context, codeHash, login string) (string, bool, error)
}

// linkTTL is how long a link code may be quoted on GitHub.
const linkTTL = 15 * time.Minute

var (
	loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	// codeInComment finds a quoted code in a GitHub comment.
	codeInComment = regexp.MustCompile(`campaignbot link ([a-f0-9]{20})`)
)

func hashCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// link proves that a Slack user is a GitHub user: `/campaign link LOGIN`
// hands out a one-time code; the GitHub user comments it on a pull request
// or issue of the control repository (only they can comment as
// themselves); `/campaign link confirm NUMBER` reads that thread's comments
// from GitHub and links the two when LOGIN quoted the code.
func (h *Handler) link(ctx context.Context, rq request) reply {
	words := strings.Fields(rq.args)
	actor := "slack:" + rq.userID
	switch {
	case len(words) == 1 && words[0] != "confirm":
		login := strings.TrimPrefix(words[0], "@")
		if !loginPattern.MatchString(login) {
			h.audit(ctx, rq, actor, "link", h.cfg.ControlRepo, "refused", "not a GitHub login", nil)
			return private("`%s` is not a GitHub login.", words[0])
		}
		buf := make([]byte, 10)
		if _, err := rand.Read(buf); err != nil {
			return private("Could not make a link code: %v", err)
		}
		code := hex.EncodeToString(buf)
		if err := h.store.CreateSlackLinkRequest(ctx, hashCode(code), rq.userID, login, time.Now().Add(linkTTL)); err != nil {
			h.audit(ctx, rq, actor, "link", h.cfg.ControlRepo, "error", err.Error(), nil)
			return private("Could not store the link request: %v", err)
		}
		h.audit(ctx, rq, actor, "link", h.cfg.ControlRepo, "accepted", "link requested", map[string]any{"github_login": login})
		return private("To prove you are @%s on GitHub, comment\n`campaignbot link %s`\non any pull request or issue of %s as @%s, then run `/campaign link confirm <its number>` here within %d minutes. The code works once.",
			login, code, h.cfg.ControlRepo, login, int(linkTTL.Minutes()))
	case len(words) == 2 && words[0] == "confirm":
		number, err := strconv.Atoi(strings.TrimPrefix(words[1], "#"))
		if err != nil || number <= 0 {
			return private("`%s` is not a pull request or issue number.", words[1])
		}
		return h.confirm(ctx, rq, number)
	}
	return private("Usage: `/campaign link <github-login>`, then `/campaign link confirm <pr-number>`.")
}

func (h *Handler) confirm(ctx context.Context, rq request, number int) reply {
	actor := "slack:" + rq.userID
	login, codeHash, ok, err := h.store.SlackLinkRequest(ctx, rq.userID)
	if err != nil {
		h.audit(ctx, rq, actor, "link", h.cfg.ControlRepo, "error", err.Error(), nil)
		return private("Could not read your link request: %v", err)
	}
	if !ok {
		h.audit(ctx, rq, actor, "link", h.cfg.ControlRepo, "refused", "no pending link request", nil)
		return private("You have no pending link request (they last %d minutes): run `/campaign link <github-login>` first.", int(linkTTL.Minutes()))
	}
	comments, err := h.github.Comments(ctx, h.cfg.ControlRepo, number)
	if err != nil {
		h.audit(ctx, rq, actor, "link", h.cfg.ControlRepo, "error", err.Error(), nil)
		return private("Could not read the comments of %s#%d: %v", h.cfg.ControlRepo, number, err)
	}
	for _, c := range comments {
		if !strings.EqualFold(c.Author, login) {
			continue
		}
		for _, m := range codeInComment.FindAllStringSubmatch(c.Body, -1) {
			if hashCode(m[1]) != codeHash {
				continue
			}
			if _, ok, err := h.store.ConfirmSlackLink(ctx, codeHash, login); err != nil || !ok {
				h.audit(ctx, rq, actor, "link", h.cfg.ControlRepo, "error", "link request expired or used", nil)
				return private("The link request expired or was used: start again with `/campaign link %s`.", login)
			}
			h.audit(ctx, rq, login, "link", h.cfg.ControlRepo, "accepted", "linked to GitHub user "+login,
				map[string]any{"github_login": login, "proof": h.cfg.ControlRepo + "#" + strconv.Itoa(number)})
			return private("✅ Your Slack user is now linked to @%s.", login)
		}
	}
	h.audit(ctx, rq, actor, "link", h.cfg.ControlRepo, "refused", "code not found on GitHub", map[string]any{"github_login": login, "number": number})
	return private("No comment by @%s on %s#%d quotes your code yet.", login, h.cfg.ControlRepo, number)
}
