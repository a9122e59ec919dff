package events

import (
	"context"

	"github.com/campaignbot/campaignbot/campaigns/chatops"
	"github.com/campaignbot/campaignbot/campaigns/installations"
	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
	"github.com/campaignbot/campaignbot/store"
)

// Deps are the domain services and settings the handlers use.
type Deps struct {
	Installations *installations.Service
	Control       ControlRepo
	Syncer        *orchestrator.Syncer
	Planner       *orchestrator.Planner
	Starter       *orchestrator.Starter // nil: runs start only through approvals
	// RunControl pauses, resumes, retries and cancels runs (nil in the server).
	RunControl *orchestrator.Control
	Approvals  ApprovalStore
	Policy     chatops.Policy
	// RequiredApprovals is how many distinct people must approve a spec.
	RequiredApprovals int
	// ChatOps reads runs and keeps command receipts.
	ChatOps ChatOpsStore
	// Tracker follows campaign pull requests (nil in the server).
	Tracker Tracker
}

// ApprovalStore keeps approvals and the audit log.
type ApprovalStore interface {
	Approvers(ctx context.Context, controlRepo, name, contentHash string) ([]string, error)
	VoidStaleApprovals(ctx context.Context, controlRepo string, prNumber int, name, keepHash, reason string) (int, error)
	AddApproval(ctx context.Context, a store.Approval) (bool, error)
	Audit(ctx context.Context, e store.AuditEntry) error
}
