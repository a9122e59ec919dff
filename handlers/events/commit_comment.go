package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
)

// CommitComment runs `/campaign` commands from comments on commits of the
// control repository's default branch — where merged campaigns are
// driven: approving a run that waits, pause, resume, retry, cancel,
// status, freeze. Feedback and audit are as for pull-request comments.
type CommitComment struct {
	*ChatOps
}

// Handles implements githubapp.EventHandler.
func (*CommitComment) Handles() []string { return []string{"commit_comment"} }

// Handle parses the comment and runs its commands in order. GitHub sends
// commit_comment only when a comment is created, so edits never re-run.
func (h *CommitComment) Handle(ctx context.Context, _, deliveryID string, payload []byte) error {
	ev, id, err := decodeInstalled[github.CommitCommentEvent](payload, "commit_comment")
	if err != nil {
		return err
	}
	cm := ev.GetComment()
	if (ev.Action != nil && ev.GetAction() != "created") || isBot(cm.GetUser()) || isBot(ev.GetSender()) {
		return nil
	}
	cmds, perrs := chatops.Parse(cm.GetBody())
	if len(cmds) == 0 && len(perrs) == 0 {
		return nil
	}
	repo := ev.GetRepo()
	owner, name := repo.GetOwner().GetLogin(), repo.GetName()
	sha := cm.GetCommitID()
	ctx, logger := githubapp.PrepareRepoContext(ctx, id, repo)
	client, err := h.NewInstallationClient(id)
	if err != nil {
		return fmt.Errorf("create REST client for installation %d: %w", id, err)
	}
	commentID := cm.GetID()
	cc := &cmdCtx{
		inst: id, client: client,
		actor:  chatops.Actor{Login: cm.GetUser().GetLogin()},
		source: cm.GetHTMLURL(),
		target: repo.GetFullName() + "@" + short(sha),
		key:    "commit_comment:" + strconv.FormatInt(commentID, 10),
		commit: sha,
	}
	react := func(content string) {
		if _, _, err := client.Reactions.CreateCommentReaction(ctx, owner, name, commentID, content); err != nil {
			logger.Warn().Err(err).Str("reaction", content).Msg("could not react to the command")
		}
	}
	react("eyes")

	var refuse func(string) string
	if !h.Control.Is(repo.GetFullName()) {
		refuse = func(raw string) string {
			return fmt.Sprintf("`%s`: campaigns are driven from the control repository %s (its pull requests and its default branch's commits)", raw, h.Control.FullName)
		}
	} else {
		onDefault, err := h.onDefaultBranch(ctx, client, owner, name, repo.GetDefaultBranch(), sha)
		if err != nil {
			return err
		}
		if !onDefault {
			refuse = func(raw string) string {
				return fmt.Sprintf("`%s`: commit %s is not on the default branch %s; comment on its pull request instead", raw, short(sha), repo.GetDefaultBranch())
			}
		}
	}
	results, err := h.runAll(ctx, cc, items(cmds, perrs), refuse)
	if err != nil {
		return err
	}
	return h.reply(ctx, cc, results, deliveryID, func(body string) error {
		_, _, err := client.Repositories.CreateComment(ctx, owner, name, sha, &github.RepositoryComment{Body: github.Ptr(body)})
		return err
	}, react)
}

// onDefaultBranch reports whether sha is on the default branch: a commit
// campaignbot synced is, without asking; otherwise one compare request
// (the commit is in the branch when the branch is ahead of or at it).
func (h *CommitComment) onDefaultBranch(ctx context.Context, client *github.Client, owner, name, branch, sha string) (bool, error) {
	if h.Store != nil {
		known, err := h.Store.KnownControlCommit(ctx, h.Control.FullName, sha)
		if err != nil || known {
			return known, err
		}
	}
	if branch == "" {
		branch = "main"
	}
	cmp, _, err := client.Repositories.CompareCommits(ctx, owner, name, branch, sha, &github.ListOptions{PerPage: 1})
	if err != nil {
		var ge *github.ErrorResponse
		if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, fmt.Errorf("compare %s with %s: %w", sha, branch, err)
	}
	st := cmp.GetStatus()
	return st == "behind" || st == "identical", nil
}
