package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/google/uuid"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/store"
)

// RunControl is what ChatOps asks of the orchestrator (orchestrator.Control).
// It does not authorise: ChatOps decides who may, and audits, first.
type RunControl interface {
	Pause(ctx context.Context, runID int64, actor, reason string) (bool, error)
	Resume(ctx context.Context, runID int64, actor string) (bool, error)
	Retry(ctx context.Context, runID int64, actor, repository string) (int, error)
	Cancel(ctx context.Context, runID int64, actor, reason string) (orchestrator.CancelResult, error)
	Freeze(ctx context.Context, actor, reason string) error
	Unfreeze(ctx context.Context, actor string) error
	Frozen(ctx context.Context) (bool, string)
	StartAwaiting(ctx context.Context, runID int64, actor string) (store.Run, error)
	Skip(ctx context.Context, taskID uuid.UUID, actor, reason string) error
	Rebase(ctx context.Context, taskID uuid.UUID, actor string) error
	Snooze(ctx context.Context, taskID uuid.UUID, actor string, until time.Time) error
}

// ChatOpsStore is what commands read and record besides approvals.
type ChatOpsStore interface {
	CampaignByName(ctx context.Context, controlRepo, name string) (store.Campaign, bool, error)
	Campaigns(ctx context.Context, controlRepo string) ([]store.Campaign, error)
	LatestRun(ctx context.Context, campaignID int64) (store.Run, bool, error)
	LoadRunView(ctx context.Context, runID int64) (store.RunView, error)
	SpecVersionByID(ctx context.Context, id int64) (store.SpecVersion, error)
	TaskByPR(ctx context.Context, repo string, number int) (store.RepoTask, bool, error)
	RunByCheckRun(ctx context.Context, checkRunID int64) (int64, bool, error)
	CommitCampaigns(ctx context.Context, controlRepo, commitSHA string) ([]string, error)
	KnownControlCommit(ctx context.Context, controlRepo, commitSHA string) (bool, error)
	ChatOpsReceipt(ctx context.Context, key string) (store.Receipt, bool, error)
	SaveChatOpsReceipt(ctx context.Context, r store.Receipt) error
}

// ChatOps runs `/campaign` commands for the three places they come from:
// pull-request comments (IssueComment), commit comments on the control
// repository's default branch (CommitComment) and the dashboard's
// buttons (CheckRun). Every command is authorised from GitHub, audited
// whether accepted or refused, answered once, and recorded in a receipt
// so a replayed delivery neither runs it again nor answers twice.
type ChatOps struct {
	githubapp.ClientCreator
	Control   ControlRepo
	Approvals ApprovalStore
	Store     ChatOpsStore // nil: only help, plan and approve on pull requests
	// Runs changes runs (and refreshes their dashboards); nil: run
	// commands answer that they are unavailable.
	Runs     RunControl
	Policy   chatops.Policy
	Required int
	// Plan re-posts plan checks for a pull request (the PullRequest handler).
	Plan func(ctx context.Context, installationID int64, number int, headSHA string) error
	// Now is the clock for snoozes (time.Now when nil).
	Now func() time.Time
}

// outcome of one command, for the reply and the audit log.
type outcome struct {
	ok       bool
	text     string
	campaign string
	runID    int64
	failed   bool // an error, not a refusal
	reason   string
}

func accepted(text string) outcome { return outcome{ok: true, text: text} }
func refused(text string) outcome  { return outcome{text: text} }

// where a command was given, and by whom.
type cmdCtx struct {
	inst   int64
	client *github.Client
	actor  chatops.Actor
	source string // URL of the comment or check run
	target string // audit target: owner/name#12, owner/name@sha
	key    string // receipt key prefix: one per comment or button press

	// Exactly one place is set.
	pr      *github.PullRequest // a control-repository pull request
	commit  string              // a control-repository commit (comment or dashboard)
	runID   int64               // a dashboard button: its run
	taskPR  *taskPR             // a campaign's pull request in a target repository
	prSpecs []orchestrator.SpecPlan
	fetched bool
}

// taskPR is a pull request in a target repository.
type taskPR struct {
	repo   string
	number int
	open   bool
}

// item is a parsed command or a line that failed to parse, in comment order.
type item struct {
	line int
	cmd  *chatops.Command
	perr *chatops.ParseError
}

func items(cmds []chatops.Command, perrs []*chatops.ParseError) []item {
	var out []item
	for i := range cmds {
		out = append(out, item{line: cmds[i].Line, cmd: &cmds[i]})
	}
	for _, pe := range perrs {
		out = append(out, item{line: pe.Line, perr: pe})
	}
	slices.SortStableFunc(out, func(a, b item) int { return a.line - b.line })
	return out
}

// runAll runs the commands in order. A command with a receipt ran before
// (a replayed delivery): its recorded answer is reused and nothing runs.
// refuse, when set, refuses every command with its answer (the place is wrong).
func (h *ChatOps) runAll(ctx context.Context, cc *cmdCtx, its []item, refuse func(raw string) string) ([]outcome, error) {
	var out []outcome
	for _, it := range its {
		key := fmt.Sprintf("%s:%d", cc.key, it.line)
		if h.Store != nil {
			r, ok, err := h.Store.ChatOpsReceipt(ctx, key)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, outcome{ok: r.OK, text: r.Text})
				continue
			}
		}
		var o outcome
		action := "parse"
		if it.perr != nil {
			o = refused(fmt.Sprintf("`%s`: %s\n\n%s", it.perr.Raw, it.perr.Message, helpText()))
			o.reason = it.perr.Message
		} else if action = it.cmd.Name; refuse != nil {
			o = refused(refuse(it.cmd.Raw))
			o.reason = firstLine(o.text)
		} else {
			o = h.run(ctx, cc, *it.cmd)
		}
		h.fillCampaign(ctx, cc, it.cmd, &o)
		h.auditOutcome(ctx, cc, action, o)
		if h.Store != nil {
			if err := h.Store.SaveChatOpsReceipt(ctx, store.Receipt{Key: key, OK: o.ok, Text: o.text}); err != nil {
				return nil, err
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// run executes one command where it was given, turning an error into an
// answer that says so (the command is not retried: people retry it).
func (h *ChatOps) run(ctx context.Context, cc *cmdCtx, c chatops.Command) outcome {
	o, err := h.dispatch(ctx, cc, c)
	if errors.Is(err, orchestrator.ErrWrongState) || errors.Is(err, orchestrator.ErrNoPullRequest) || errors.Is(err, orchestrator.ErrNotApproved) {
		// Run control refused: the state changed under us, or the task has no pull request.
		o.ok, o.failed, o.text, o.reason = false, false, fmt.Sprintf("`%s`: not possible now: %v", c.Raw, err), err.Error()
		return o
	}
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str("command", c.Name).Msg("command failed")
		return outcome{failed: true, reason: err.Error(), campaign: o.campaign, runID: o.runID,
			text: fmt.Sprintf("`%s` failed: %v. Try again; if it keeps failing, tell the campaignbot operators.", c.Raw, err)}
	}
	if o.reason == "" {
		o.reason = firstLine(o.text)
	}
	return o
}

func (h *ChatOps) dispatch(ctx context.Context, cc *cmdCtx, c chatops.Command) (outcome, error) {
	if c.Name == "help" {
		return accepted(helpText()), nil
	}
	if cc.taskPR != nil {
		return h.targetCommand(ctx, cc, c)
	}
	switch c.Name {
	case "skip", "rebase", "snooze":
		return refused(fmt.Sprintf("`%s`: this works on a campaign's pull request in a target repository, not on the control repository %s", c.Raw, h.Control.FullName)), nil
	case "freeze", "unfreeze":
		return h.freeze(ctx, cc, c)
	case "plan":
		if cc.pr == nil {
			return refused("`/campaign plan`: plans are made on pull requests of the control repository"), nil
		}
		if cc.pr.GetState() != "open" {
			return refused("`/campaign plan`: this pull request is closed"), nil
		}
		if err := h.Plan(ctx, cc.inst, cc.pr.GetNumber(), cc.pr.GetHead().GetSHA()); err != nil {
			return outcome{}, err
		}
		return accepted("`/campaign plan`: plans re-posted on " + short(cc.pr.GetHead().GetSHA())), nil
	case "approve":
		if cc.pr != nil {
			return h.approvePR(ctx, cc, c)
		}
	}
	if cc.pr != nil && cc.pr.GetState() != "open" {
		where := "the default branch"
		if sha := cc.pr.GetMergeCommitSHA(); cc.pr.GetMerged() && sha != "" {
			where = "its merge commit " + short(sha)
		}
		return refused(fmt.Sprintf("`%s`: this pull request is closed; comment on %s or use the run's dashboard instead", c.Raw, where)), nil
	}
	if h.Runs == nil || h.Store == nil {
		return refused(fmt.Sprintf("`/campaign %s` is not available in this version of campaignbot", c.Name)), nil
	}
	return h.runCommand(ctx, cc, c)
}

// specsOfPR reads (once per comment) the specs a pull request adds or changes.
func (h *ChatOps) specsOfPR(ctx context.Context, cc *cmdCtx) ([]orchestrator.SpecPlan, error) {
	if cc.fetched {
		return cc.prSpecs, nil
	}
	gql, err := h.NewInstallationV4Client(cc.inst)
	if err != nil {
		return nil, fmt.Errorf("create GraphQL client: %w", err)
	}
	_, base, head, err := fetchPullRequestSnapshots(ctx, gql, h.Control, cc.pr.GetNumber(), cc.pr.GetHead().GetSHA())
	if err != nil {
		return nil, err
	}
	for _, p := range orchestrator.Touched(base, head) {
		if p.Change != orchestrator.Removed {
			cc.prSpecs = append(cc.prSpecs, p)
		}
	}
	cc.fetched = true
	return cc.prSpecs, nil
}

// reply posts the one answer to a comment or button press (unless a
// replayed delivery already did) and reacts with the overall result.
func (h *ChatOps) reply(ctx context.Context, cc *cmdCtx, results []outcome, deliveryID string, post func(body string) error, react func(content string)) error {
	key := cc.key + ":reply"
	if h.Store != nil {
		_, done, err := h.Store.ChatOpsReceipt(ctx, key)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
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
	body := b.String()
	// GitHub refuses comments over 65,536 characters.
	if len(body) > 65000 {
		body = strings.ToValidUTF8(body[:65000], "") + "\n\n… (cut)"
	}
	if err := post(body); err != nil {
		return fmt.Errorf("reply to the command: %w", err)
	}
	if h.Store != nil {
		if err := h.Store.SaveChatOpsReceipt(ctx, store.Receipt{Key: key, OK: allOK}); err != nil {
			return err
		}
	}
	if react != nil {
		reaction := "+1"
		if !allOK {
			reaction = "confused"
		}
		react(reaction)
	}
	return nil
}

// fillCampaign names, for the audit log, the campaign a command was about
// when answering it did not need to find it (a refusal for the place, an
// unknown button, a command refused on a campaign's pull request in a
// target repository): the run of the dashboard or pull request it was
// given on, else the campaign it names. The audit log's campaign filter
// (GET /api/v1/audit?campaign=) relies on it. Best effort: a failed
// lookup leaves the entry without a campaign.
func (h *ChatOps) fillCampaign(ctx context.Context, cc *cmdCtx, cmd *chatops.Command, o *outcome) {
	if o.campaign != "" || h.Store == nil {
		return
	}
	runID := o.runID
	if runID == 0 {
		runID = cc.runID
	}
	warn := func(err error) {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not find the campaign of a command for the audit log")
	}
	if runID == 0 && cc.taskPR != nil {
		t, ok, err := h.Store.TaskByPR(ctx, cc.taskPR.repo, cc.taskPR.number)
		if err != nil {
			warn(err)
		}
		if ok {
			runID = t.RunID
		}
	}
	if runID != 0 {
		v, err := h.Store.LoadRunView(ctx, runID)
		if err != nil {
			warn(err)
			return
		}
		o.campaign, o.runID = v.CampaignName, runID
		return
	}
	if cmd == nil {
		return
	}
	name := ""
	switch cmd.Name {
	case "retry":
		name, _ = chatops.RetryArgs(cmd.Args)
	case "status", "pause", "resume", "cancel", "approve":
		if len(cmd.Args) > 0 {
			name = cmd.Args[0]
		}
	}
	if name == "" {
		return
	}
	c, ok, err := h.Store.CampaignByName(ctx, h.Control.FullName, name)
	if err != nil {
		warn(err)
	}
	if ok {
		o.campaign = c.Name
	}
}

func (h *ChatOps) auditOutcome(ctx context.Context, cc *cmdCtx, action string, o outcome) {
	result := "accepted"
	switch {
	case o.failed:
		result = "error"
	case !o.ok:
		result = "refused"
	}
	details := map[string]any{}
	if o.campaign != "" {
		details["campaign"] = o.campaign
	}
	if o.runID != 0 {
		details["run_id"] = o.runID
	}
	h.audit(ctx, store.AuditEntry{Actor: cc.actor.Login, Action: action, Target: cc.target, Outcome: result,
		Reason: o.reason, SourceURL: cc.source, Details: details})
}

func (h *ChatOps) audit(ctx context.Context, e store.AuditEntry) {
	if h.Approvals == nil {
		return
	}
	if err := h.Approvals.Audit(ctx, e); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("could not write the audit log")
	}
}

func (h *ChatOps) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func helpText() string {
	var b strings.Builder
	b.WriteString("campaignbot commands. On pull requests of the control repository and comments on its default branch's commits (`name` may be left out when the pull request or commit holds one spec):\n\n")
	for _, c := range []string{"help", "plan", "approve", "status", "pause", "resume", "retry", "cancel", "freeze", "unfreeze"} {
		fmt.Fprintf(&b, "- `%s`\n", chatops.Usage(c))
	}
	b.WriteString("\nOn a campaign's pull request in a target repository (its maintainers):\n\n")
	for _, c := range []string{"skip", "rebase", "snooze"} {
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
