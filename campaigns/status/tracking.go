package status

import (
	"strings"

	"github.com/campaignbot/campaignbot/store"
)

// trackingNote says in a few words what needs a person on a pull request:
// a human edit that stopped automation, failing CI, requested changes,
// who closed it, and the verification's finding.
func trackingNote(t store.Tracking) string {
	var parts []string
	if t.HumanEdited {
		parts = append(parts, "human edit: automation stopped")
	}
	switch t.CIState {
	case store.CIFailing:
		parts = append(parts, "CI failing")
	case store.CIPending:
		parts = append(parts, "CI pending")
	}
	if t.ReviewDecision == "changes_requested" {
		parts = append(parts, "changes requested")
	} else if t.ReviewDecision == "approved" {
		parts = append(parts, "approved")
	}
	if t.Behind && t.PRState == "open" {
		parts = append(parts, "behind base")
	}
	if t.ClosedBy != "" && t.PRState == "closed" {
		parts = append(parts, "closed by "+t.ClosedBy)
	}
	if t.Landed != nil {
		if *t.Landed {
			parts = append(parts, "landed")
		} else {
			parts = append(parts, "not landed: "+t.VerifyNote)
		}
	}
	return strings.Join(parts, "; ")
}
