package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
)

// IssueComment runs `/campaign` commands from pull-request comments: on
// the control repository (plan, approve, run commands, freeze) and on a
// campaign's pull requests in target repositories (skip, rebase, snooze).
// Every command gets 👀 at once, then one reply and a 👍 or 😕; every
// command, accepted or refused, is audited.
type IssueComment struct {
	*ChatOps
}

// Handles implements githubapp.EventHandler.
func (*IssueComment) Handles() []string { return []string{"issue_comment"} }

// Handle parses the comment and runs its commands in order. Edited
// comments are not re-run; comments by bots (campaignbot included) are ignored.
func (h *IssueComment) Handle(ctx context.Context, _, deliveryID string, payload []byte) error {
	var ev github.IssueCommentEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decode issue_comment event: %w", err)
	}
	if ev.GetAction() != "created" || isBot(ev.GetComment().GetUser()) || isBot(ev.GetSender()) {
		return nil
	}
	cmds, perrs := chatops.Parse(ev.GetComment().GetBody())
	if len(cmds) == 0 && len(perrs) == 0 {
		return nil
	}
	repo := ev.GetRepo()
	id := githubapp.GetInstallationIDFromEvent(&ev)
	number := ev.GetIssue().GetNumber()
	ctx, logger := githubapp.PreparePRContext(ctx, id, repo, number)
	client, err := h.NewInstallationClient(id)
	if err != nil {
		return fmt.Errorf("create REST client for installation %d: %w", id, err)
	}
	owner, name := repo.GetOwner().GetLogin(), repo.GetName()
	commentID := ev.GetComment().GetID()
	cc := &cmdCtx{
		inst: id, client: client,
		actor:  chatops.Actor{Login: ev.GetComment().GetUser().GetLogin()},
		source: ev.GetComment().GetHTMLURL(),
		target: repo.GetFullName() + "#" + strconv.Itoa(number),
		key:    "issue_comment:" + strconv.FormatInt(commentID, 10),
	}
	react := func(content string) {
		if _, _, err := client.Reactions.CreateIssueCommentReaction(ctx, owner, name, commentID, content); err != nil {
			logger.Warn().Err(err).Str("reaction", content).Msg("could not react to the command")
		}
	}
	react("eyes")

	var results []outcome
	its := items(cmds, perrs)
	switch {
	case !ev.GetIssue().IsPullRequest():
		results, err = h.runAll(ctx, cc, its, func(raw string) string {
			return fmt.Sprintf("`%s`: commands work on pull requests (of the control repository %s, or a campaign's), not on issues", raw, h.Control.FullName)
		})
		if err != nil {
			return err
		}
	case h.Control.Is(repo.GetFullName()):
		pr, _, err := client.PullRequests.Get(ctx, owner, name, number)
		if err != nil {
			return fmt.Errorf("read pull request #%d: %w", number, err)
		}
		cc.pr = pr
		if results, err = h.runAll(ctx, cc, its, nil); err != nil {
			return err
		}
	default:
		// A target repository: the pull request may be a campaign's.
		cc.taskPR = &taskPR{repo: repo.GetFullName(), number: number, open: ev.GetIssue().GetState() == "open"}
		if results, err = h.runAll(ctx, cc, its, nil); err != nil {
			return err
		}
	}
	return h.reply(ctx, cc, results, deliveryID, func(body string) error {
		_, _, err := client.Issues.CreateComment(ctx, owner, name, number, &github.IssueComment{Body: github.Ptr(body)})
		return err
	}, react)
}
