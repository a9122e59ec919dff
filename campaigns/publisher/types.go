package publisher

import (
	"github.com/campaignbot/campaignbot/campaigns/spec"
	"github.com/campaignbot/campaignbot/runner"
)

// Input is one change to publish in one repository.
type Input struct {
	InstallationID int64
	CampaignID     int64
	CampaignName   string
	// CampaignURL is the campaign's dashboard, for templates.
	CampaignURL string
	// SpecVersion is the version being published; it names the branch only
	// when the pull request does not exist yet.
	SpecVersion   int
	Spec          *spec.Spec
	Repository    string // owner/name
	DefaultBranch string // the pull request's base branch
	Result        *runner.Result
	// ExistingPR is what the caller knows of the campaign's pull request in
	// this repository, nil when it knows of none. It saves a query when the
	// branch was opened by an earlier spec version; the Lookup remains the
	// source of truth.
	ExistingPR *ExistingPR
}

// ExistingPR is a pull request the caller recorded earlier.
type ExistingPR struct {
	Number  int
	NodeID  string
	Branch  string
	HeadSHA string
}

// Action is what a publish did to the pull request.
type Action string

// Actions.
const (
	Created   Action = "created"   // a new pull request
	Updated   Action = "updated"   // new commit, title/body, labels or reviewers
	Unchanged Action = "unchanged" // nothing written
)

// Output is the published pull request.
type Output struct {
	Branch   string
	PRNumber int
	PRURL    string
	PRNodeID string
	// HeadSHA is the branch head: the commit carrying the change.
	HeadSHA string
	Action  Action
	// Requests counts GitHub requests by kind ("graphql query Lookup",
	// "graphql mutation PublishCreate", "POST git/trees", ...), over every
	// attempt of this publish.
	Requests map[string]int
	// ContentUnits is what the publish charged to the installation's
	// content-creation budget (one per mutation field or REST write).
	ContentUnits int
	// Warnings are non-fatal problems: a reviewer GitHub refused, a
	// template change the publisher does not apply (draft state).
	Warnings []string
}
