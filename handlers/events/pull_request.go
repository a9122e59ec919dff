package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
	"github.com/shurcooL/githubv4"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
)

// PullRequest plans the specs a control-repository pull request touches
// and shows each plan as a check run on the head commit.
type PullRequest struct {
	githubapp.ClientCreator
	Control   ControlRepo
	Planner   *orchestrator.Planner
	Approvals ApprovalStore
	Required  int
	// Tracker follows campaign pull requests on target repositories (nil:
	// not tracked, the server's copy).
	Tracker Tracker
}

// Handles implements githubapp.EventHandler.
func (*PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle plans on opened, reopened and synchronize. It re-reads the pull
// request first: when its head has moved on, a newer delivery plans the
// newer head, so a stale plan is never posted.
func (h *PullRequest) Handle(ctx context.Context, _, _ string, payload []byte) error {
	var ev github.PullRequestEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decode pull_request event: %w", err)
	}
	if !h.Control.Is(ev.GetRepo().GetFullName()) {
		return trackPullRequest(ctx, h.Tracker, &ev)
	}
	switch ev.GetAction() {
	case "opened", "reopened", "synchronize":
	default:
		return nil
	}
	repo := ev.GetRepo()
	if !h.Control.Is(repo.GetFullName()) {
		return nil
	}
	id := githubapp.GetInstallationIDFromEvent(&ev)
	ctx, _ = githubapp.PreparePRContext(ctx, id, repo, ev.GetPullRequest().GetNumber())
	return h.plan(ctx, id, ev.GetPullRequest().GetNumber(), ev.GetPullRequest().GetHead().GetSHA(), ev.GetAction() == "synchronize")
}

// PlanHead re-plans a pull request's head (for /campaign plan and after approvals).
func (h *PullRequest) PlanHead(ctx context.Context, installationID int64, number int, headSHA string) error {
	return h.plan(ctx, installationID, number, headSHA, false)
}

func (h *PullRequest) plan(ctx context.Context, id int64, number int, headSHA string, pushed bool) error {
	logger := zerolog.Ctx(ctx)
	gql, err := h.NewInstallationV4Client(id)
	if err != nil {
		return fmt.Errorf("create GraphQL client for installation %d: %w", id, err)
	}
	pr, base, head, err := fetchPullRequestSnapshots(ctx, gql, h.Control, number, headSHA)
	if err != nil {
		return err
	}
	if pr.HeadRefOid != headSHA || pr.State != "OPEN" {
		logger.Info().Str("event_head", headSHA).Str("current_head", pr.HeadRefOid).Str("state", pr.State).
			Msg("pull request moved on or closed; not planning a stale head")
		return nil
	}
	plans, err := h.Planner.Plan(ctx, id, base, head)
	if err != nil {
		return err
	}
	if err := h.approvalState(ctx, plans, number, pushed); err != nil {
		return err
	}
	if len(plans) == 0 {
		logger.Debug().Msg("pull request touches no campaign spec")
		return nil
	}
	client, err := h.NewInstallationClient(id)
	if err != nil {
		return fmt.Errorf("create REST client for installation %d: %w", id, err)
	}
	owner, name := h.Control.split()
	for _, p := range plans {
		out := orchestrator.Render(p)
		if err := postCheckRun(ctx, client, owner, name, headSHA, out); err != nil {
			return err
		}
		logger.Info().Str("check", out.Name).Str("conclusion", out.Conclusion).Int("annotations", len(out.Annotations)).Msg("plan posted")
	}
	return nil
}

type prInfo struct {
	HeadRefOid  string
	BaseRefName string
	State       string
}

// fetchPullRequestSnapshots reads, in one GraphQL request, the pull
// request's current head and state, the spec folder at the event's head
// commit and at the base branch.
func fetchPullRequestSnapshots(ctx context.Context, gql *githubv4.Client, cr ControlRepo, number int, headSHA string) (prInfo, orchestrator.Snapshot, orchestrator.Snapshot, error) {
	owner, name := cr.split()
	var q struct {
		Repository struct {
			PullRequest *struct {
				HeadRefOid  githubv4.GitObjectID
				BaseRefName string
				BaseRefOid  githubv4.GitObjectID
				State       string
			} `graphql:"pullRequest(number: $number)"`
			Head *specTree `graphql:"head: object(expression: $head)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
	}
	vars := map[string]any{
		"owner": githubv4.String(owner), "name": githubv4.String(name),
		"number": githubv4.Int(number), "head": githubv4.String(headSHA + ":" + cr.folder()),
	}
	if err := gql.Query(ctx, &q, vars); err != nil {
		return prInfo{}, orchestrator.Snapshot{}, orchestrator.Snapshot{}, fmt.Errorf("read pull request #%d of %s: %w", number, cr.FullName, err)
	}
	p := q.Repository.PullRequest
	if p == nil {
		return prInfo{}, orchestrator.Snapshot{}, orchestrator.Snapshot{}, fmt.Errorf("pull request #%d of %s not found", number, cr.FullName)
	}
	info := prInfo{HeadRefOid: string(p.HeadRefOid), BaseRefName: p.BaseRefName, State: p.State}
	head := q.Repository.Head.snapshot(cr.FullName, headSHA, cr.folder())
	// The base is compared at the base branch's current head: what merging would change.
	base, err := fetchBranchSnapshot(ctx, gql, cr, p.BaseRefName, string(p.BaseRefOid))
	if err != nil {
		return info, orchestrator.Snapshot{}, orchestrator.Snapshot{}, err
	}
	return info, base, head, nil
}

// approvalState voids approvals of content a push replaced (on
// synchronize) and fills in who approved the current content.
func (h *PullRequest) approvalState(ctx context.Context, plans []orchestrator.SpecPlan, number int, pushed bool) error {
	if h.Approvals == nil {
		return nil
	}
	for i, p := range plans {
		if !p.Parsed.Valid() || p.Change == orchestrator.Removed {
			continue
		}
		hash := p.Parsed.Spec.ContentHash()
		plans[i].RequiredApprovals = h.Required
		if pushed {
			n, err := h.Approvals.VoidStaleApprovals(ctx, h.Control.FullName, number, p.Name, hash, "a later push changed the spec")
			if err != nil {
				return err
			}
			plans[i].VoidedApprovals = n
		}
		approvers, err := h.Approvals.Approvers(ctx, h.Control.FullName, p.Name, hash)
		if err != nil {
			return err
		}
		plans[i].Approvers = approvers
	}
	return nil
}
