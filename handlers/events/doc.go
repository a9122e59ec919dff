// Package events holds campaignbot's GitHub webhook handlers, one file per
// event, in the style of palantir/policy-bot: a small struct embedding the
// ClientCreator that decodes the payload, takes the installation id,
// prepares a logger, re-fetches what it needs and calls a campaigns/
// service. They run in the worker, on deliveries the server has stored.
package events

import "github.com/palantir/go-githubapp/githubapp"

// All returns the handlers the worker (and the server's dispatcher, to
// know which events to store) registers, first match wins.
func All(cc githubapp.ClientCreator, deps Deps) []githubapp.EventHandler {
	pr := &PullRequest{ClientCreator: cc, Control: deps.Control, Planner: deps.Planner, Approvals: deps.Approvals, Required: deps.RequiredApprovals, Tracker: deps.Tracker}
	ops := &ChatOps{ClientCreator: cc, Control: deps.Control, Approvals: deps.Approvals, Store: deps.ChatOps,
		Policy: deps.Policy, Required: deps.RequiredApprovals, Plan: pr.PlanHead}
	if deps.RunControl != nil { // a nil *Control must stay a nil interface
		ops.Runs = deps.RunControl
	}
	return []githubapp.EventHandler{
		&Ping{},
		&Installation{ClientCreator: cc, Service: deps.Installations},
		&InstallationRepositories{ClientCreator: cc, Service: deps.Installations},
		&Push{ClientCreator: cc, Control: deps.Control, Syncer: deps.Syncer, Starter: deps.Starter, Approvals: deps.Approvals, Required: deps.RequiredApprovals, Tracker: deps.Tracker},
		pr,
		&IssueComment{ChatOps: ops},
		&CommitComment{ChatOps: ops},
		&CheckRun{ChatOps: ops},
		&PullRequestReview{Tracker: deps.Tracker},
		&CheckSuite{Tracker: deps.Tracker},
		&Status{Tracker: deps.Tracker},
		&Noop{},
	}
}
