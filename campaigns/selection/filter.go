package selection

import (
	"strings"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// exclusionReason returns why a candidate is not a target, or "" if it is
// one. The author's own exclusion comes first, then what makes a
// repository unchangeable (archived) or unwanted by default (fork), then
// the require checks.
func exclusionReason(n node, t spec.Targets, forks bool) string {
	// One pattern at a time through spec's matcher, so the reason can name
	// the pattern without reimplementing the matching rules.
	for _, p := range t.Exclude {
		if (spec.Targets{Exclude: []string{p}}).Excluded(n.NameWithOwner) {
			return "excluded by pattern " + p
		}
	}
	if n.IsArchived {
		return ReasonArchived
	}
	if n.IsFork && !forks {
		return ReasonFork
	}
	// Nothing to check out or branch from: a campaign cannot change it.
	if n.DefaultBranchRef == nil || n.DefaultBranchRef.Target == nil {
		return ReasonEmpty
	}
	switch len(n.missing) {
	case 0:
	case 1:
		return "missing file " + n.missing[0]
	default:
		return "missing files " + strings.Join(n.missing, ", ")
	}
	for _, want := range t.Require.Topics {
		if !hasTopic(n, want) {
			return "missing topic " + want
		}
	}
	return ""
}

func hasTopic(n node, topic string) bool {
	for _, t := range n.RepositoryTopics.Nodes {
		if strings.EqualFold(t.Topic.Name, topic) {
			return true
		}
	}
	return false
}
