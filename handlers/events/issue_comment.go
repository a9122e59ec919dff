package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/store"
)

// IssueComment runs `/campaign` commands from pull-request comments on the
// control repository. Every command gets 👀 at once, then one reply and a
// 👍 or 😕; every command, accepted or refused, is audited.
type IssueComment struct {
	githubapp.ClientCreator
	Control   ControlRepo
	Planner   *orchestrator.Planner
	Approvals ApprovalStore
	Policy    chatops.Policy
	Required  int
	// Plan re-posts plan checks for a pull request (the PullRequest handler).
	Plan func(ctx context.Context, installationID int64, number int, headSHA string) error
}

// Handles implements githubapp.EventHandler.
func (*IssueComment) Handles() []string { return []string{"issue_comment"} }

// outcome of one command, for the reply.
type outcome struct {
	ok   bool
	text string
}

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
	if _, _, err := client.Reactions.CreateIssueCommentReaction(ctx, owner, name, commentID, "eyes"); err != nil {
		logger.Warn().Err(err).Msg("could not react to the command")
	}
	actor := chatops.Actor{Login: ev.GetComment().GetUser().GetLogin()}
	source := ev.GetComment().GetHTMLURL()

	var results []outcome
	for _, pe := range perrs {
		results = append(results, outcome{false, fmt.Sprintf("`%s`: %s\n\n%s", pe.Raw, pe.Message, helpText())})
		h.audit(ctx, actor.Login, "parse", repo.GetFullName(), "refused", pe.Message, source)
	}
	switch {
	case !h.Control.Is(repo.GetFullName()):
		for _, c := range cmds {
			results = append(results, outcome{false, fmt.Sprintf("`%s`: campaigns are controlled from pull requests on the control repository %s; commands on campaign pull requests in target repositories (skip, rebase, snooze) are not available in this version", c.Raw, h.Control.FullName)})
			h.audit(ctx, actor.Login, c.Name, repo.GetFullName(), "refused", "not the control repository", source)
		}
	case !ev.GetIssue().IsPullRequest():
		for _, c := range cmds {
			results = append(results, outcome{false, fmt.Sprintf("`%s`: commands work on pull requests of the control repository, not on issues", c.Raw)})
			h.audit(ctx, actor.Login, c.Name, repo.GetFullName(), "refused", "not a pull request", source)
		}
	default:
		pr, _, err := client.PullRequests.Get(ctx, owner, name, number)
		if err != nil {
			return fmt.Errorf("read pull request #%d: %w", number, err)
		}
		for _, c := range cmds {
			o := h.run(ctx, client, id, pr, c, actor, source)
			results = append(results, o)
		}
	}
	return h.reply(ctx, client, owner, name, number, commentID, results, deliveryID)
}

func (h *IssueComment) run(ctx context.Context, client *github.Client, installationID int64, pr *github.PullRequest, c chatops.Command, actor chatops.Actor, source string) outcome {
	target := h.Control.FullName + "#" + fmt.Sprint(pr.GetNumber())
	var o outcome
	var err error
	switch c.Name {
	case "help":
		o = outcome{true, helpText()}
	case "plan":
		if pr.GetState() != "open" {
			o = outcome{false, "`/campaign plan`: this pull request is closed"}
			break
		}
		if err = h.Plan(ctx, installationID, pr.GetNumber(), pr.GetHead().GetSHA()); err == nil {
			o = outcome{true, "`/campaign plan`: plans re-posted on " + short(pr.GetHead().GetSHA())}
		}
	case "approve":
		o, err = h.approve(ctx, client, installationID, pr, c, actor, source)
	default:
		o = outcome{false, fmt.Sprintf("`/campaign %s` is not available in this version of campaignbot", c.Name)}
	}
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str("command", c.Name).Msg("command failed")
		o = outcome{false, fmt.Sprintf("`%s` failed: %v. Try again; if it keeps failing, tell the campaignbot operators.", c.Raw, err)}
		h.audit(ctx, actor.Login, c.Name, target, "error", err.Error(), source)
		return o
	}
	result := "accepted"
	if !o.ok {
		result = "refused"
	}
	h.audit(ctx, actor.Login, c.Name, target, result, firstLine(o.text), source)
	return o
}

// approve binds an approval to the exact content of the spec at the
// pull request's head.
func (h *IssueComment) approve(ctx context.Context, client *github.Client, installationID int64, pr *github.PullRequest, c chatops.Command, actor chatops.Actor, source string) (outcome, error) {
	if pr.GetState() != "open" {
		return outcome{false, "`/campaign approve`: this pull request is closed; approvals apply to open pull requests"}, nil
	}
	gql, err := h.NewInstallationV4Client(installationID)
	if err != nil {
		return outcome{}, fmt.Errorf("create GraphQL client: %w", err)
	}
	head := pr.GetHead().GetSHA()
	_, base, headSnap, err := fetchPullRequestSnapshots(ctx, gql, h.Control, pr.GetNumber(), head)
	if err != nil {
		return outcome{}, err
	}
	var candidates []orchestrator.SpecPlan
	for _, p := range orchestrator.Touched(base, headSnap) {
		if p.Change != orchestrator.Removed {
			candidates = append(candidates, p)
		}
	}
	sp, msg := pick(candidates, c.Args)
	if msg != "" {
		return outcome{false, "`/campaign approve`: " + msg}, nil
	}
	if !sp.Parsed.Valid() {
		return outcome{false, fmt.Sprintf("`/campaign approve %s`: the spec is not valid; see the check `%s`", sp.Name, sp.CheckName())}, nil
	}
	d, err := chatops.CanApprove(ctx, permissions{client}, h.Policy, h.Control.FullName, sp.Parsed.Spec.Owners, actor, pr.GetUser().GetLogin())
	if err != nil {
		return outcome{}, err
	}
	if !d.Allowed {
		return outcome{false, fmt.Sprintf("`/campaign approve %s`: not allowed: %s", sp.Name, d.Reason)}, nil
	}
	hash := sp.Parsed.Spec.ContentHash()
	if _, err := h.Approvals.AddApproval(ctx, store.Approval{ControlRepo: h.Control.FullName, CampaignName: sp.Name, ContentHash: hash,
		Approver: actor.Login, PRNumber: pr.GetNumber(), SourceURL: source}); err != nil {
		return outcome{}, err
	}
	approvers, err := h.Approvals.Approvers(ctx, h.Control.FullName, sp.Name, hash)
	if err != nil {
		return outcome{}, err
	}
	need := max(h.Required, 1)
	text := fmt.Sprintf("`/campaign approve %s`: approved by @%s (%s) for content %s of %s.", sp.Name, actor.Login, d.Reason, hash[:12], short(head))
	if len(approvers) >= need {
		text += " The run starts when this pull request merges; a later push voids the approval."
	} else {
		text += fmt.Sprintf(" %d of %d approvals.", len(approvers), need)
	}
	if h.Plan != nil {
		if err := h.Plan(ctx, installationID, pr.GetNumber(), head); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not refresh the plan after an approval")
		}
	}
	return outcome{true, text}, nil
}

// pick finds the spec a command names, or the only one the pull request holds.
func pick(plans []orchestrator.SpecPlan, args []string) (orchestrator.SpecPlan, string) {
	var names []string
	for _, p := range plans {
		names = append(names, "`"+p.Name+"`")
	}
	if len(args) == 0 {
		switch len(plans) {
		case 1:
			return plans[0], ""
		case 0:
			return orchestrator.SpecPlan{}, "this pull request adds or changes no campaign spec"
		default:
			return orchestrator.SpecPlan{}, "this pull request holds several specs (" + strings.Join(names, ", ") + "): name one"
		}
	}
	for _, p := range plans {
		if strings.EqualFold(p.Name, args[0]) {
			return p, ""
		}
	}
	if len(names) == 0 {
		return orchestrator.SpecPlan{}, fmt.Sprintf("unknown campaign %q: this pull request adds or changes no campaign spec", args[0])
	}
	return orchestrator.SpecPlan{}, fmt.Sprintf("unknown campaign %q: this pull request holds %s", args[0], strings.Join(names, ", "))
}

func (h *IssueComment) reply(ctx context.Context, client *github.Client, owner, name string, number int, commentID int64, results []outcome, deliveryID string) error {
	allOK := true
	var b strings.Builder
	for _, r := range results {
		mark := "✅"
		if !r.ok {
			mark, allOK = "❌", false
		}
		fmt.Fprintf(&b, "%s %s\n\n", mark, r.text)
	}
	fmt.Fprintf(&b, "<sub>campaignbot · delivery %s</sub>", deliveryID)
	if _, _, err := client.Issues.CreateComment(ctx, owner, name, number, &github.IssueComment{Body: github.Ptr(b.String())}); err != nil {
		return fmt.Errorf("reply to the command: %w", err)
	}
	reaction := "+1"
	if !allOK {
		reaction = "confused"
	}
	if _, _, err := client.Reactions.CreateIssueCommentReaction(ctx, owner, name, commentID, reaction); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not react with the outcome")
	}
	return nil
}

func (h *IssueComment) audit(ctx context.Context, actor, action, target, outcome, reason, source string) {
	if h.Approvals == nil {
		return
	}
	if err := h.Approvals.Audit(ctx, store.AuditEntry{Actor: actor, Action: action, Target: target, Outcome: outcome, Reason: reason, SourceURL: source}); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("could not write the audit log")
	}
}

func helpText() string {
	var b strings.Builder
	b.WriteString("campaignbot commands (on pull requests of the control repository; `name` may be left out when the pull request holds one spec):\n\n")
	for _, c := range chatops.Commands() {
		fmt.Fprintf(&b, "- `%s`\n", chatops.Usage(c))
	}
	return b.String()
}

func isBot(u *github.User) bool {
	return u.GetType() == "Bot" || strings.HasSuffix(u.GetLogin(), "[bot]")
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
