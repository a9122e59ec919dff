package events

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v74/github"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/handlers/permissions"
	"github.com/campaignbot/campaignbot/store"
)

// approvePR binds an approval to the exact content of the spec at the
// pull request's head.
func (h *ChatOps) approvePR(ctx context.Context, cc *cmdCtx, c chatops.Command) (outcome, error) {
	pr := cc.pr
	if pr.GetState() != "open" {
		o := refused("`/campaign approve`: this pull request is closed; approvals apply to open pull requests")
		if pr.GetMerged() && pr.GetMergeCommitSHA() != "" {
			o.text += fmt.Sprintf(". A merged spec waiting for approval is approved with `/campaign approve` on its merge commit %s or the Approve button of its run's dashboard", short(pr.GetMergeCommitSHA()))
		}
		return o, nil
	}
	plans, err := h.specsOfPR(ctx, cc)
	if err != nil {
		return outcome{}, err
	}
	sp, msg := pick(plans, c.Args)
	if msg != "" {
		return refused("`/campaign approve`: " + msg), nil
	}
	o := outcome{campaign: sp.Name}
	if !sp.Parsed.Valid() {
		o.text = fmt.Sprintf("`/campaign approve %s`: the spec is not valid; see the check `%s`", sp.Name, sp.CheckName())
		return o, nil
	}
	d, err := chatops.CanApprove(ctx, permissions.New(cc.client), h.Policy, h.Control.FullName, sp.Parsed.Spec.Owners, cc.actor, pr.GetUser().GetLogin())
	if err != nil {
		return o, err
	}
	if !d.Allowed {
		o.text = fmt.Sprintf("`/campaign approve %s`: not allowed: %s", sp.Name, d.Reason)
		return o, nil
	}
	head := pr.GetHead().GetSHA()
	hash := sp.Parsed.Spec.ContentHash()
	if _, err := h.Approvals.AddApproval(ctx, store.Approval{ControlRepo: h.Control.FullName, CampaignName: sp.Name, ContentHash: hash,
		Approver: cc.actor.Login, PRNumber: pr.GetNumber(), SourceURL: cc.source}); err != nil {
		return o, err
	}
	approvers, err := h.Approvals.Approvers(ctx, h.Control.FullName, sp.Name, hash)
	if err != nil {
		return o, err
	}
	need := max(h.Required, 1)
	o.ok = true
	o.text = fmt.Sprintf("`/campaign approve %s`: approved by @%s (%s) for content %s of %s.", sp.Name, cc.actor.Login, d.Reason, hash[:12], short(head))
	if len(approvers) >= need {
		o.text += " The run starts when this pull request merges; a later push voids the approval."
	} else {
		o.text += fmt.Sprintf(" %d of %d approvals.", len(approvers), need)
	}
	if h.Plan != nil {
		if err := h.Plan(ctx, cc.inst, pr.GetNumber(), head); err != nil {
			return o, fmt.Errorf("approval recorded, but the plan check could not be refreshed: %w", err)
		}
	}
	return o, nil
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

// runTarget is the run a command acts on, with the spec version it runs
// (whose owners may control it: a pull request cannot grant itself owners).
type runTarget struct {
	view    store.RunView
	version store.SpecVersion
	owners  []string
}

// findRun resolves the run a command is about: the dashboard's run for a
// button, else the latest run of the named campaign (or of the only one
// the pull request or commit holds). refusal says why there is none.
func (h *ChatOps) findRun(ctx context.Context, cc *cmdCtx, name string) (rt runTarget, campaign, refusal string, err error) {
	runID := cc.runID
	if runID == 0 {
		campaign, refusal, err = h.campaignName(ctx, cc, name)
		if err != nil || refusal != "" {
			return rt, campaign, refusal, err
		}
		c, ok, err := h.Store.CampaignByName(ctx, h.Control.FullName, campaign)
		if err != nil {
			return rt, campaign, "", err
		}
		if !ok {
			return rt, campaign, fmt.Sprintf("campaign `%s` has no runs yet: a run starts when its spec lands on the default branch", campaign), nil
		}
		run, ok, err := h.Store.LatestRun(ctx, c.ID)
		if err != nil {
			return rt, campaign, "", err
		}
		if !ok {
			return rt, campaign, fmt.Sprintf("campaign `%s` has no runs yet", campaign), nil
		}
		runID = run.ID
	}
	if rt.view, err = h.Store.LoadRunView(ctx, runID); err != nil {
		return rt, campaign, "", err
	}
	campaign = rt.view.CampaignName
	if rt.version, err = h.Store.SpecVersionByID(ctx, rt.view.Run.SpecVersionID); err != nil {
		return rt, campaign, "", err
	}
	if s, _ := spec.Parse(campaign+".yaml", []byte(rt.version.YAML)); s != nil {
		rt.owners = s.Owners
	}
	return rt, campaign, "", nil
}

// campaignName resolves the campaign a command names, or the only one the
// pull request (the specs it adds or changes) or commit (the versions it
// made) holds. On a pull request only its own specs may be named.
func (h *ChatOps) campaignName(ctx context.Context, cc *cmdCtx, name string) (string, string, error) {
	if cc.pr != nil {
		plans, err := h.specsOfPR(ctx, cc)
		if err != nil {
			return "", "", err
		}
		var args []string
		if name != "" {
			args = []string{name}
		}
		sp, msg := pick(plans, args)
		return sp.Name, msg, nil
	}
	if name == "" {
		names, err := h.Store.CommitCampaigns(ctx, h.Control.FullName, cc.commit)
		if err != nil {
			return "", "", err
		}
		if len(names) == 1 {
			return names[0], "", nil
		}
		if len(names) > 1 {
			return "", fmt.Sprintf("commit %s holds several specs (`%s`): name one", short(cc.commit), strings.Join(names, "`, `")), nil
		}
		known, err := h.knownNames(ctx)
		if err != nil {
			return "", "", err
		}
		return "", fmt.Sprintf("commit %s made no campaign spec version: name a campaign (%s)", short(cc.commit), known), nil
	}
	c, ok, err := h.Store.CampaignByName(ctx, h.Control.FullName, name)
	if err != nil {
		return "", "", err
	}
	if !ok {
		known, err := h.knownNames(ctx)
		if err != nil {
			return "", "", err
		}
		return "", fmt.Sprintf("unknown campaign %q: %s", name, known), nil
	}
	return c.Name, "", nil
}

func (h *ChatOps) knownNames(ctx context.Context) (string, error) {
	cs, err := h.Store.Campaigns(ctx, h.Control.FullName)
	if err != nil {
		return "", err
	}
	var names []string
	for _, c := range cs {
		if c.State == store.CampaignActive {
			names = append(names, "`"+c.Name+"`")
		}
	}
	if len(names) == 0 {
		return "no campaigns exist yet", nil
	}
	return "known campaigns are " + strings.Join(names, ", "), nil
}

// runCommand runs approve (of a waiting run), status, pause, resume,
// retry and cancel.
func (h *ChatOps) runCommand(ctx context.Context, cc *cmdCtx, c chatops.Command) (outcome, error) {
	name, retryTarget := "", ""
	switch {
	case c.Name == "retry":
		name, retryTarget = chatops.RetryArgs(c.Args)
	case len(c.Args) > 0:
		name = c.Args[0]
	}
	rt, campaign, refusal, err := h.findRun(ctx, cc, name)
	o := outcome{campaign: campaign, runID: rt.view.Run.ID}
	if err != nil {
		return o, err
	}
	if refusal != "" {
		o.text = fmt.Sprintf("`%s`: %s", c.Raw, refusal)
		return o, nil
	}
	run := rt.view.Run
	label := fmt.Sprintf("run %d of `%s` (version %d)", run.ID, campaign, rt.view.SpecVersion)
	if c.Name == "status" {
		o.ok, o.text = true, h.statusText(ctx, rt.view, label)
		return o, nil
	}
	if c.Name == "approve" {
		return h.approveRun(ctx, cc, rt, label, o)
	}

	// Every other command changes the run: check its state first (what it
	// is now says exactly why not), then who asks.
	if why := stateRefusal(c.Name, run.State); why != "" {
		o.text = fmt.Sprintf("`%s`: %s is %s; %s", c.Raw, label, run.State, why)
		return o, nil
	}
	d, err := chatops.CanControl(ctx, permissions.New(cc.client), h.Control.FullName, rt.owners, cc.actor)
	if err != nil {
		return o, err
	}
	if !d.Allowed {
		o.text = fmt.Sprintf("`%s`: not allowed: %s", c.Raw, d.Reason)
		return o, nil
	}
	by := fmt.Sprintf("@%s", cc.actor.Login)
	switch c.Name {
	case "pause":
		changed, err := h.Runs.Pause(ctx, run.ID, cc.actor.Login, "")
		if err != nil {
			return o, err
		}
		o.ok = true
		o.text = fmt.Sprintf("`%s`: %s paused by %s: no new pull requests are published until `/campaign resume %s`.", c.Raw, label, by, campaign)
		if !changed {
			o.text = fmt.Sprintf("`%s`: %s was paused already; nothing changed.", c.Raw, label)
		}
	case "resume":
		changed, err := h.Runs.Resume(ctx, run.ID, cc.actor.Login)
		if err != nil {
			return o, err
		}
		o.ok = true
		o.text = fmt.Sprintf("`%s`: %s resumed by %s.", c.Raw, label, by)
		if !changed {
			o.text = fmt.Sprintf("`%s`: %s was running already; nothing changed.", c.Raw, label)
		}
		if frozen, why := h.Runs.Frozen(ctx); frozen {
			o.text += fmt.Sprintf(" Publishing is frozen for all campaigns (%s): nothing is published until an admin runs `/campaign unfreeze`.", why)
		}
	case "retry":
		repo := retryTarget
		if repo == "failed" {
			repo = ""
		} else if repo = taskRepo(rt.view, repo); repo == "" {
			o.text = fmt.Sprintf("`%s`: %s is not a repository of %s", c.Raw, retryTarget, label)
			return o, nil
		}
		n, err := h.Runs.Retry(ctx, run.ID, cc.actor.Login, repo)
		if err != nil {
			return o, err
		}
		if n == 0 {
			what := "no repository of " + label + " has failed"
			if repo != "" {
				what = repo + " has not failed in " + label
			}
			o.text = fmt.Sprintf("`%s`: nothing to retry: %s", c.Raw, what)
			return o, nil
		}
		o.ok = true
		o.text = fmt.Sprintf("`%s`: %d failed repositor%s of %s queued again by %s.", c.Raw, n, plural(n, "y", "ies"), label, by)
		if run.State == store.RunPaused {
			o.text += fmt.Sprintf(" The run is paused: they run when it resumes (`/campaign resume %s`).", campaign)
		}
	case "cancel":
		open := openPRs(rt.view)
		if !c.Yes {
			o.text = fmt.Sprintf("`%s`: cancelling %s stops it for good and closes its %d open pull request%s with a comment. To confirm, comment `/campaign cancel %s --yes`.",
				c.Raw, label, open, plural(open, "", "s"), campaign)
			o.reason = "confirmation (--yes) missing"
			return o, nil
		}
		res, err := h.Runs.Cancel(ctx, run.ID, cc.actor.Login, "")
		if err != nil {
			return o, err
		}
		o.ok = true
		o.text = fmt.Sprintf("`%s`: %s cancelled by %s. %s", c.Raw, label, by, cancelSummary(res))
	default:
		o.text = fmt.Sprintf("`%s`: unknown command", c.Raw)
		return o, nil
	}
	return o, nil
}

// cancelSummary says what a confirmed cancel did.
func cancelSummary(res orchestrator.CancelResult) string {
	switch {
	case !res.Cancelled:
		return "It had ended already; nothing changed."
	case res.Closing == 0:
		return "It had no open pull requests to close."
	}
	if res.Closing == 1 {
		return "Its open pull request is being closed with a comment."
	}
	return fmt.Sprintf("Its %d open pull requests are being closed with a comment (within GitHub's limits).", res.Closing)
}

// stateRefusal says why a run in state cannot take the command ("" if it can).
func stateRefusal(cmd, state string) string {
	final := state == store.RunCompleted || state == store.RunCancelled || state == store.RunFailed
	switch cmd {
	case "pause", "resume":
		if state == store.RunAwaitingApproval {
			return "nothing runs until it is approved"
		}
		if final {
			return "it has finished"
		}
	case "retry":
		if state == store.RunAwaitingApproval {
			return "nothing has run yet: approve it first"
		}
		if state == store.RunCancelled {
			return "a cancelled run cannot be retried; push a new spec version instead"
		}
	case "cancel":
		if final {
			return "there is nothing left to cancel"
		}
	}
	return ""
}

// approveRun approves the content of a run waiting for approval (after
// merge: a commit comment or the dashboard's button) and starts it when
// enough people have.
func (h *ChatOps) approveRun(ctx context.Context, cc *cmdCtx, rt runTarget, label string, o outcome) (outcome, error) {
	run := rt.view.Run
	if run.State != store.RunAwaitingApproval {
		o.text = fmt.Sprintf("`/campaign approve`: %s is %s; there is nothing to approve", label, run.State)
		return o, nil
	}
	author, err := h.versionAuthor(ctx, cc, rt.version)
	if err != nil {
		return o, err
	}
	d, err := chatops.CanApprove(ctx, permissions.New(cc.client), h.Policy, h.Control.FullName, rt.owners, cc.actor, author)
	if err != nil {
		return o, err
	}
	if !d.Allowed {
		o.text = fmt.Sprintf("`/campaign approve %s`: not allowed: %s", rt.view.CampaignName, strings.Replace(d.Reason, "opened this pull request", "wrote this spec version", 1))
		return o, nil
	}
	hash := rt.version.ContentHash
	if _, err := h.Approvals.AddApproval(ctx, store.Approval{ControlRepo: h.Control.FullName, CampaignName: rt.view.CampaignName,
		ContentHash: hash, Approver: cc.actor.Login, SourceURL: cc.source}); err != nil {
		return o, err
	}
	approvers, err := h.Approvals.Approvers(ctx, h.Control.FullName, rt.view.CampaignName, hash)
	if err != nil {
		return o, err
	}
	need := max(h.Required, 1)
	o.ok = true
	o.text = fmt.Sprintf("`/campaign approve %s`: %s approved by @%s (%s) for content %s.", rt.view.CampaignName, label, cc.actor.Login, d.Reason, short12(hash))
	if len(approvers) < need {
		o.text += fmt.Sprintf(" %d of %d approvals; the run starts at %d.", len(approvers), need, need)
		return o, nil
	}
	started, err := h.Runs.StartAwaiting(ctx, run.ID, cc.actor.Login)
	if err != nil {
		return o, fmt.Errorf("approval recorded, but the run could not start: %w", err)
	}
	o.text += fmt.Sprintf(" The run is %s.", started.State)
	return o, nil
}

// versionAuthor is who wrote a spec version, for the four-eyes rule: the
// author of the pull request merged as its commit (one request), else
// whoever pushed it — the merger is not the author.
func (h *ChatOps) versionAuthor(ctx context.Context, cc *cmdCtx, v store.SpecVersion) (string, error) {
	owner, name := h.Control.split()
	prs, _, err := cc.client.PullRequests.ListPullRequestsWithCommit(ctx, owner, name, v.CommitSHA, &github.ListOptions{PerPage: 5})
	if err != nil {
		return "", fmt.Errorf("find the pull request of commit %s: %w", short(v.CommitSHA), err)
	}
	for _, pr := range prs {
		if pr.GetMerged() || pr.MergedAt != nil {
			return pr.GetUser().GetLogin(), nil
		}
	}
	return v.Author, nil
}

func (h *ChatOps) statusText(ctx context.Context, v store.RunView, label string) string {
	counts := map[string]int{}
	var failed []string
	for _, t := range v.Tasks {
		counts[t.State]++
		if t.State == store.TaskFailed {
			failed = append(failed, t.Repository)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`/campaign status`: %s is **%s**", label, v.Run.State)
	if v.PausedReason != "" {
		fmt.Fprintf(&b, " (%s)", v.PausedReason)
	}
	fmt.Fprintf(&b, "; %d repositories", len(v.Tasks))
	var parts []string
	for _, s := range []string{store.TaskFailed, store.TaskQueued, store.TaskRunning, store.TaskPatchReady, store.TaskPublishing,
		store.TaskPublished, "merged", "closed", store.TaskNoChanges, store.TaskSkipped, "cancelled"} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
		}
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	b.WriteString(".")
	if len(failed) > 0 {
		shown := failed[:min(len(failed), 10)]
		fmt.Fprintf(&b, " Failed: %s", strings.Join(shown, ", "))
		if len(failed) > len(shown) {
			fmt.Fprintf(&b, " and %d more", len(failed)-len(shown))
		}
		b.WriteString(".")
	}
	if v.Run.State == store.RunAwaitingApproval {
		b.WriteString(" It waits for `/campaign approve` on this commit or the Approve button of its dashboard.")
	}
	if h.Runs != nil {
		if frozen, why := h.Runs.Frozen(ctx); frozen {
			fmt.Fprintf(&b, " Publishing is frozen for all campaigns (%s).", why)
		}
	}
	return b.String()
}

// freeze and unfreeze the global kill switch (config admins only).
func (h *ChatOps) freeze(ctx context.Context, cc *cmdCtx, c chatops.Command) (outcome, error) {
	if h.Runs == nil {
		return refused(fmt.Sprintf("`/campaign %s` is not available in this version of campaignbot", c.Name)), nil
	}
	d := chatops.CanFreeze(h.Policy, cc.actor)
	if !d.Allowed {
		return refused(fmt.Sprintf("`%s`: not allowed: %s", c.Raw, d.Reason)), nil
	}
	if c.Name == "freeze" {
		if err := h.Runs.Freeze(ctx, cc.actor.Login, ""); err != nil {
			return outcome{}, err
		}
		return accepted(fmt.Sprintf("`%s`: publishing frozen for all campaigns by @%s: no pull request is opened or updated until `/campaign unfreeze`.", c.Raw, cc.actor.Login)), nil
	}
	if err := h.Runs.Unfreeze(ctx, cc.actor.Login); err != nil {
		return outcome{}, err
	}
	text := fmt.Sprintf("`%s`: publishing unfrozen by @%s.", c.Raw, cc.actor.Login)
	if frozen, why := h.Runs.Frozen(ctx); frozen {
		text += fmt.Sprintf(" It is still frozen by configuration (%s); an operator must change it.", why)
	}
	return accepted(text), nil
}

// targetCommand runs skip, rebase and snooze on a campaign's pull request
// in a target repository, authorised by the commenter's permission there.
func (h *ChatOps) targetCommand(ctx context.Context, cc *cmdCtx, c chatops.Command) (outcome, error) {
	tp := cc.taskPR
	switch c.Name {
	case "skip", "rebase", "snooze":
	default:
		return refused(fmt.Sprintf("`%s`: campaigns are controlled from the control repository %s; on a campaign's pull request you can use `/campaign skip`, `/campaign rebase` and `/campaign snooze 7d`", c.Raw, h.Control.FullName)), nil
	}
	if h.Runs == nil || h.Store == nil {
		return refused(fmt.Sprintf("`/campaign %s` is not available in this version of campaignbot", c.Name)), nil
	}
	task, ok, err := h.Store.TaskByPR(ctx, tp.repo, tp.number)
	if err != nil {
		return outcome{}, err
	}
	if !ok {
		return refused(fmt.Sprintf("`%s`: %s#%d was not opened by a campaign", c.Raw, tp.repo, tp.number)), nil
	}
	o := outcome{runID: task.RunID}
	if v, err := h.Store.LoadRunView(ctx, task.RunID); err == nil {
		o.campaign = v.CampaignName
	}
	if !tp.open {
		o.text = fmt.Sprintf("`%s`: this pull request is closed; the campaign no longer updates it", c.Raw)
		return o, nil
	}
	d, err := chatops.CanMaintainTarget(ctx, permissions.New(cc.client), tp.repo, cc.actor)
	if err != nil {
		return o, err
	}
	if !d.Allowed {
		o.text = fmt.Sprintf("`%s`: not allowed: %s", c.Raw, d.Reason)
		return o, nil
	}
	switch c.Name {
	case "skip":
		if err := h.Runs.Skip(ctx, task.ID, cc.actor.Login, ""); err != nil {
			return o, err
		}
		o.text = fmt.Sprintf("`%s`: %s skips campaign `%s`: this pull request is closed and %s is left out of its later versions; the campaign's dashboard shows the skip.", c.Raw, tp.repo, o.campaign, tp.repo)
	case "rebase":
		if err := h.Runs.Rebase(ctx, task.ID, cc.actor.Login); err != nil {
			return o, err
		}
		o.text = fmt.Sprintf("`%s`: the change is being made again on the current base of %s; this pull request is updated when it is ready.", c.Raw, tp.repo)
	case "snooze":
		dur, err := chatops.ParseSnooze(c.Args[0])
		if err != nil {
			o.text = fmt.Sprintf("`%s`: %v", c.Raw, err)
			return o, nil
		}
		until := h.now().Add(dur).UTC()
		if err := h.Runs.Snooze(ctx, task.ID, cc.actor.Login, until); err != nil {
			return o, err
		}
		o.text = fmt.Sprintf("`%s`: campaign `%s` leaves this pull request alone until %s.", c.Raw, o.campaign, until.Format("2006-01-02 15:04 MST"))
	}
	o.ok = true
	return o, nil
}

// taskRepo is the run's spelling of repo ("" when the run has no such repository).
func taskRepo(v store.RunView, repo string) string {
	for _, t := range v.Tasks {
		if strings.EqualFold(t.Repository, repo) {
			return t.Repository
		}
	}
	return ""
}

func openPRs(v store.RunView) int {
	n := 0
	for _, t := range v.Tasks {
		if t.State == store.TaskPublished && t.PRNumber != 0 {
			n++
		}
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func short12(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
