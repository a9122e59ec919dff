package selection

import "time"

// Result is a resolved selection.
type Result struct {
	// Repositories are the targets, sorted by FullName.
	Repositories []Repository `json:"repositories"`
	// Excluded are the candidates left out, sorted by FullName, each with
	// the reason shown to the user.
	Excluded []Exclusion `json:"excluded"`
	// Warnings are problems that did not stop the resolve, e.g. a search
	// that still exceeds GitHub's 1,000-result cap.
	Warnings []string `json:"warnings"`
	// Cached is true when the result came from the cache.
	Cached bool `json:"-"`
	// ResolvedAt is when GitHub was asked (the original time on a cache hit).
	ResolvedAt time.Time `json:"resolvedAt"`
	// Requests is how many GitHub requests this call made (0 when cached).
	Requests int `json:"-"`
}

// Repository is one target repository.
type Repository struct {
	ID            int64    `json:"id"`
	NodeID        string   `json:"nodeId"`
	FullName      string   `json:"fullName"`
	DefaultBranch string   `json:"defaultBranch"`
	HeadOID       string   `json:"headOid"`
	Language      string   `json:"language,omitempty"`
	Topics        []string `json:"topics,omitempty"`
	Private       bool     `json:"private"`
}

// Exclusion is a candidate repository that is not a target, and why.
type Exclusion struct {
	FullName string `json:"fullName"`
	Reason   string `json:"reason"`
}

// Exclusion reasons that are not parameterised.
const (
	ReasonArchived     = "archived"
	ReasonFork         = "fork"
	ReasonInaccessible = "not found or not accessible to the installation"
	ReasonEmpty        = "empty repository (no default branch)"
)
