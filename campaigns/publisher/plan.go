package publisher

import (
	"strings"

	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/runner"
)

// plan is what one attempt writes, decided from the Lookup alone so the
// whole budget can be reserved before the first write.
type plan struct {
	branch string
	pr     *prState // the open pull request adopted, nil to create one

	// Branch and commit.
	createRef  bool   // GraphQL createRef at BaseSHA before the commit
	commit     bool   // a new commit carrying the change
	gitData    bool   // the commit goes through the Git Data API
	refExists  bool   // Git Data: update (force) rather than create the ref
	expectHead string // GraphQL createCommitOnBranch's expectedHeadOid
	head       string // the branch head when no commit is made

	// Pull request.
	createPR        bool
	updateTitleBody bool

	// Decoration. GraphQL when every id is known; REST otherwise (REST
	// takes names, creates missing labels and requests teams, whose ids
	// GraphQL gives no cheap way to read).
	labelIDs    []string
	labelNames  []string
	userIDs     []string
	restUsers   []string
	restTeams   []string
	binaryBlobs int
	warnings    []string
	rendered    spec.RenderedPullRequest
	humanEdited bool
}

// simple says createCommitOnBranch can carry the change: it only takes
// paths and contents, so it cannot set the executable bit, make a symlink
// or turn an executable back into a plain file.
func simple(r *runner.Result) bool {
	for _, c := range r.Changed {
		if c.Mode != runner.ModeFile && c.Mode != "" {
			return false
		}
		if c.OldMode != "" && c.OldMode != runner.ModeFile {
			return false
		}
	}
	return true
}

// writes says whether the plan writes anything.
func (pl *plan) writes() bool {
	return pl.createRef || pl.commit || pl.createPR || pl.updateTitleBody || pl.decorates()
}

func (pl *plan) decorates() bool {
	return len(pl.labelIDs)+len(pl.labelNames)+len(pl.userIDs)+len(pl.restUsers)+len(pl.restTeams) > 0
}

// units is the plan's content-creation cost as GitHub counts it: every
// mutation field and every REST write is one.
func (pl *plan) units() int {
	n := 0
	if pl.createRef {
		n++
	}
	if pl.commit {
		if pl.gitData {
			n += pl.binaryBlobs + 3 // blobs, tree, commit, ref
		} else {
			n++
		}
	}
	if pl.createPR || pl.updateTitleBody {
		n++
	}
	if len(pl.labelIDs) > 0 || len(pl.labelNames) > 0 {
		n++
	}
	if len(pl.userIDs) > 0 || len(pl.restUsers)+len(pl.restTeams) > 0 {
		n++
	}
	return n
}

// decideCommit fills the branch and commit part of the plan. baseHead is
// the base branch's current head.
func decideCommit(pl *plan, in *Input, b *branchState, baseBlobs map[string]string, baseHead string, overwrite bool) {
	res := in.Result
	easy := simple(res)
	switch {
	case b == nil:
		pl.commit = true
		pl.gitData = !easy
		pl.createRef = easy
		pl.expectHead = res.BaseSHA
	default:
		patch, ours := madeBy(b.Message, in.CampaignID)
		switch {
		case ours && patch == res.PatchHash && !rebased(b, res, baseHead):
			pl.head = b.Head
		case b.Head == res.BaseSHA:
			// A crash after createRef: the branch exists, the commit not.
			pl.commit, pl.refExists = true, true
			pl.gitData = !easy
			pl.expectHead = res.BaseSHA
		case !ours && pl.pr != nil && !overwrite:
			pl.humanEdited = true
			pl.head = b.Head
		default:
			// A new patch for an existing branch: rewrite it as base + one
			// commit, which only the Git Data API can do (force update).
			pl.commit, pl.refExists, pl.gitData = true, true, true
		}
	}
	if pl.gitData {
		pl.binaryBlobs = len(dedupeBinary(res.Changed, baseBlobs))
	}
}

// rebased says the same patch was made on a newer base than the branch's
// (drift.baseChanged: rebase, /campaign rebase): the branch is rewritten
// on that base, or the pull request would stay behind — unmergeable where
// branch protection wants branches up to date, its CI never run on the
// new base — while the task records a base the branch is not built on.
// Only a result made on the base branch's current head moves the branch:
// an older result never moves it back.
func rebased(b *branchState, res *runner.Result, baseHead string) bool {
	return b.Parent != "" && b.Parent != res.BaseSHA && res.BaseSHA == baseHead
}

// decidePR fills the pull-request and decoration part of the plan.
func decidePR(pl *plan, lk *lookup) {
	r := pl.rendered
	if pl.pr == nil {
		pl.createPR = true
	} else {
		if pl.pr.Title != r.Title || strings.TrimSpace(pl.pr.Body) != strings.TrimSpace(r.Body) {
			pl.updateTitleBody = true
		}
		if pl.pr.IsDraft != r.Draft {
			pl.warnings = append(pl.warnings, "draft state differs from the spec; not changed on an open pull request")
		}
	}
	has := func(m map[string]bool, k string) bool { return pl.pr != nil && m[strings.ToLower(k)] }
	var missingLabels []string
	allKnown := true
	for _, l := range r.Labels {
		if has(pl.pr.labels(), l) {
			continue
		}
		missingLabels = append(missingLabels, l)
		if lk.LabelIDs[strings.ToLower(l)] == "" {
			allKnown = false
		}
	}
	if allKnown {
		for _, l := range missingLabels {
			pl.labelIDs = append(pl.labelIDs, lk.LabelIDs[strings.ToLower(l)])
		}
	} else {
		pl.labelNames = missingLabels
	}
	var users []string
	for _, u := range r.Reviewers {
		if has(pl.pr.requested(), u) || has(pl.pr.reviewed(), u) {
			continue
		}
		users = append(users, u)
	}
	var teams []string
	for _, t := range r.TeamReviewers {
		// GitHub drops a team's request once a member reviews: any review
		// means the team was asked already.
		if has(pl.pr.requested(), t) || pl.pr != nil && len(pl.pr.Reviewed) > 0 {
			continue
		}
		teams = append(teams, t)
	}
	var known []string
	for _, u := range users {
		if id := lk.UserIDs[strings.ToLower(u)]; id != "" {
			known = append(known, u)
			if len(teams) == 0 {
				pl.userIDs = append(pl.userIDs, id)
			}
		} else {
			pl.warnings = append(pl.warnings, "reviewer "+u+" is not a GitHub user; not requested")
		}
	}
	if len(teams) > 0 {
		pl.restUsers, pl.restTeams = known, teams
	}
}

func (p *prState) labels() map[string]bool {
	if p == nil {
		return nil
	}
	return p.Labels
}

func (p *prState) requested() map[string]bool {
	if p == nil {
		return nil
	}
	return p.Requested
}

func (p *prState) reviewed() map[string]bool {
	if p == nil {
		return nil
	}
	return p.Reviewed
}
