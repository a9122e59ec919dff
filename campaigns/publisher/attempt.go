package publisher

import (
	"context"
	"strconv"
	"strings"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// attempt is one pass of a publish: Lookup, plan, reserve, write.
type attempt struct {
	p       *Publisher
	gh      Clients
	in      *Input
	out     Output
	created bool // a pull request was created by an earlier pass
}

func (a *attempt) count(kind string) { a.out.Requests[kind]++ }

func (a *attempt) crash(step string) bool { return a.p.cut != nil && a.p.cut(step) }

func (a *attempt) graphql(ctx context.Context, op, q string, vars map[string]any, mutation bool) (*GraphQLResponse, error) {
	kind := "graphql query " + op
	if mutation {
		kind = "graphql mutation " + op
	}
	a.count(kind)
	return a.gh.GraphQL(ctx, op, q, vars)
}

func (a *attempt) run(ctx context.Context) error {
	p, in := a.p, a.in
	// Reserve the likely cost before the Lookup, so a publish that would
	// be throttled spends no request, and concurrent workers cannot all
	// pass a check and then find the budget gone after their Lookup.
	est := a.estimate()
	res, err := p.thr.acquire(ctx, est)
	if err != nil {
		return err
	}
	reserved := est.units
	head := spec.BranchName(in.CampaignID, in.SpecVersion, in.Repository)
	if in.ExistingPR != nil && in.ExistingPR.Branch != "" {
		head = in.ExistingPR.Branch
	}
	lk, err := p.runLookup(ctx, a, head)
	if err != nil {
		_ = p.thr.refund(ctx, res, reserved)
		return err
	}
	pl, err := a.decide(ctx, lk, head)
	if err != nil || !pl.writes() {
		_ = p.thr.refund(ctx, res, reserved)
		return err
	}
	units := pl.units()
	if units > reserved || pl.createPR {
		if _, err := p.thr.acquire(ctx, a.charge(max(units-reserved, 0), pl.createPR)); err != nil {
			_ = p.thr.refund(ctx, res, reserved)
			return err
		}
	}
	_ = p.thr.refund(ctx, res, reserved-units)
	a.out.ContentUnits += units
	if err := a.write(ctx, lk, pl); err != nil {
		if _, ok := err.(*Permanent); ok && pl.createPR && a.out.PRNumber == 0 {
			_ = p.thr.release(ctx, in.CampaignID, strings.ToLower(in.Repository))
		}
		return err
	}
	switch {
	case pl.createPR || a.created:
		a.out.Action = Created
	default:
		a.out.Action = Updated
	}
	return nil
}

// decide turns the Lookup into a plan, or a permanent error.
func (a *attempt) decide(ctx context.Context, lk *lookup, head string) (*plan, error) {
	in := a.in
	var err error
	switch {
	case lk.Archived:
		return nil, &Permanent{Reason: ReasonArchived, Detail: in.Repository}
	case lk.BaseHead == "":
		return nil, &Permanent{Reason: ReasonBaseBranchMissing, Detail: in.Repository + "@" + in.DefaultBranch}
	case lk.BaseTree == "":
		return nil, &Permanent{Reason: ReasonBaseCommitMissing, Detail: in.Result.BaseSHA}
	}
	pl := &plan{branch: head, pr: lk.PR}
	if pl.pr == nil || pl.pr.State != "OPEN" {
		// The pull request may live on a branch an earlier spec version
		// opened, which the caller did not tell us about.
		if err := a.adoptOtherBranch(ctx, lk, pl); err != nil {
			return nil, err
		}
	}
	if pl.pr != nil {
		switch pl.pr.State {
		case "MERGED":
			return nil, &Permanent{Reason: ReasonPRMerged, Detail: pl.pr.URL}
		case "CLOSED":
			return nil, &Permanent{Reason: ReasonPRClosed, Detail: pl.pr.URL}
		}
	}
	if pl.rendered, err = spec.RenderPullRequest(in.Spec, templateData(in, lk.URL)); err != nil {
		return nil, &Permanent{Reason: ReasonInvalidInput, Detail: err.Error()}
	}
	overwrite := in.Spec.WithDefaults().Drift.HumanEdits == spec.HumanEditsOverwrite
	decideCommit(pl, in, findBranch(lk.Branches, pl.branch), lk.BaseBlobs, lk.BaseHead, overwrite)
	if pl.humanEdited {
		return nil, &Permanent{Reason: ReasonHumanEdited, Detail: pl.branch}
	}
	decidePR(pl, lk)
	a.out.Branch, a.out.Warnings = pl.branch, pl.warnings
	if pl.pr != nil {
		a.out.PRNumber, a.out.PRURL, a.out.PRNodeID = pl.pr.Number, pl.pr.URL, pl.pr.ID
	}
	a.out.HeadSHA = pl.head
	if !pl.writes() && a.out.Action == "" {
		a.out.Action = Unchanged
	}
	return pl, nil
}

// adoptOtherBranch switches to another campaign branch of this repository
// when its pull request is open.
func (a *attempt) adoptOtherBranch(ctx context.Context, lk *lookup, pl *plan) error {
	for _, b := range lk.Branches {
		if b.Name == pl.branch || !ownBranch(b.Name, a.in) {
			continue
		}
		pr, err := a.p.lookupPR(ctx, a, b.Name)
		if err != nil {
			return err
		}
		if pr != nil && pr.State == "OPEN" {
			pl.branch, pl.pr = b.Name, pr
			return nil
		}
	}
	return nil
}

// ownBranch says whether name is campaign/<id>/<version>/<this repo's slug>.
func ownBranch(name string, in *Input) bool {
	rest, ok := strings.CutPrefix(name, spec.BranchPrefix+strconv.FormatInt(in.CampaignID, 10)+"/")
	if !ok {
		return false
	}
	v, slug, ok := strings.Cut(rest, "/")
	return ok && slug == spec.RepoSlug(in.Repository) && v != "" && strings.Trim(v, "0123456789") == ""
}

func findBranch(bs []branchState, name string) *branchState {
	for i := range bs {
		if bs[i].Name == name {
			return &bs[i]
		}
	}
	return nil
}

func (a *attempt) charge(units int, newPR bool) charge {
	rollout := a.in.Spec.WithDefaults().Rollout
	return charge{installation: a.in.InstallationID, campaign: a.in.CampaignID,
		repo: strings.ToLower(a.in.Repository), units: units, newPR: newPR,
		prsPerHour: rollout.PRsPerHour, maxOpenPRs: rollout.MaxOpenPRs}
}

// estimate is the content-creation charge a publish most likely needs,
// reserved before the Lookup: a new pull request (branch, commit, pull
// request, decoration) unless the caller knows one exists, then a single
// update. The campaign's throttles are left to the real charge: whether
// this publish opens a pull request is known only after the Lookup.
func (a *attempt) estimate() charge {
	if a.in.ExistingPR != nil || a.out.Action != "" {
		return a.charge(1, false)
	}
	pr := a.in.Spec.WithDefaults().PullRequest
	units := 3
	if len(pr.Labels) > 0 {
		units++
	}
	if len(pr.Reviewers)+len(pr.TeamReviewers) > 0 {
		units++
	}
	return a.charge(units, false)
}
