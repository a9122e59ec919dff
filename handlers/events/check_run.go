package events

import (
	"context"
	"fmt"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
)

// CheckRun runs the dashboard's buttons (check_run requested_action:
// Approve, Pause/Resume, Retry failed) as the commands they stand for,
// with the person who pressed as the actor and the same rules. The answer
// is a comment on the dashboard's commit, since a button has no thread.
type CheckRun struct {
	*ChatOps
}

// Handles implements githubapp.EventHandler.
func (*CheckRun) Handles() []string { return []string{"check_run"} }

// buttons maps the identifiers campaigns/status renders to commands.
var buttons = map[string]chatops.Command{
	"approve":      {Name: "approve", Raw: "Approve (button)"},
	"pause":        {Name: "pause", Raw: "Pause (button)"},
	"resume":       {Name: "resume", Raw: "Resume (button)"},
	"retry_failed": {Name: "retry", Args: []string{"failed"}, Raw: "Retry failed (button)"},
}

// Handle runs a pressed button; other check_run actions are not ours to act on.
func (h *CheckRun) Handle(ctx context.Context, _, deliveryID string, payload []byte) error {
	ev, id, err := decodeInstalled[github.CheckRunEvent](payload, "check_run")
	if err != nil {
		return err
	}
	if ev.GetAction() != "requested_action" || isBot(ev.GetSender()) {
		return nil
	}
	repo := ev.GetRepo()
	ctx, logger := githubapp.PrepareRepoContext(ctx, id, repo)
	if !h.Control.Is(repo.GetFullName()) || h.Store == nil {
		logger.Info().Str("repo", repo.GetFullName()).Msg("button pressed outside the control repository; ignored")
		return nil
	}
	cr := ev.GetCheckRun()
	client, err := h.NewInstallationClient(id)
	if err != nil {
		return fmt.Errorf("create REST client for installation %d: %w", id, err)
	}
	sha := cr.GetHeadSHA()
	cc := &cmdCtx{
		inst: id, client: client,
		actor:  chatops.Actor{Login: ev.GetSender().GetLogin()},
		source: cr.GetHTMLURL(),
		target: repo.GetFullName() + "@" + short(sha),
		key:    "check_run:" + deliveryID,
		commit: sha,
	}
	identifier := ev.GetRequestedAction().Identifier
	cmd, known := buttons[identifier]
	runID, isDashboard, err := h.Store.RunByCheckRun(ctx, cr.GetID())
	if err != nil {
		return err
	}
	var refuse func(string) string
	switch {
	case !isDashboard:
		refuse = func(string) string {
			return fmt.Sprintf("check run %q is not a campaign dashboard campaignbot knows", cr.GetName())
		}
	case !known:
		refuse = func(string) string { return fmt.Sprintf("unknown button %q", identifier) }
	}
	if !known {
		cmd = chatops.Command{Name: "button", Raw: identifier}
	}
	cmd.Line = 1
	cc.runID = runID
	results, err := h.runAll(ctx, cc, []item{{line: 1, cmd: &cmd}}, refuse)
	if err != nil {
		return err
	}
	return h.reply(ctx, cc, results, deliveryID, func(body string) error {
		body = "@" + cc.actor.Login + " pressed a button of " + cr.GetName() + ":\n\n" + body
		_, _, err := client.Repositories.CreateComment(ctx, repo.GetOwner().GetLogin(), repo.GetName(), sha, &github.RepositoryComment{Body: github.Ptr(body)})
		return err
	}, nil)
}
