package orchestrator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// Change says how a pull request changes one spec file.
type Change string

// Kinds of change.
const (
	Added   Change = "added"
	Changed Change = "changed"
	Removed Change = "removed"
)

// Targets is what target selection found for a spec.
type Targets struct {
	Repositories []string // owner/name, sorted
	Excluded     []Exclusion
	Warnings     []string
	Cached       bool
}

// Exclusion is a repository left out, with the reason.
type Exclusion struct{ FullName, Reason string }

// ErrTargetsRejected marks a selection error the spec's author must fix
// (GitHub rejected the query): the plan shows it. Other selection errors
// are transient and fail the planning, which is retried.
var ErrTargetsRejected = errors.New("targets rejected")

// Selector resolves a spec's targets for an installation.
type Selector interface {
	Select(ctx context.Context, installationID int64, t spec.Targets) (Targets, error)
}

// SpecPlan is the plan for one spec a pull request touches.
type SpecPlan struct {
	Path   string
	Name   string // campaign name ("" when the file has none readable)
	Change Change
	Parsed ParsedSpec
	// Diff is a unified diff of the spec against the default branch.
	Diff string
	// Targets is set for a valid spec whose targets could be resolved;
	// TargetsErr says why they could not.
	Targets    *Targets
	TargetsErr error
	// Approvers approved exactly this content; VoidedApprovals counts
	// approvals of earlier content of this pull request that a push voided.
	Approvers         []string
	RequiredApprovals int
	VoidedApprovals   int
	// NameClash is set when another file of the same pull request uses the
	// same campaign name; check names then carry the path to stay apart.
	NameClash bool
}

// Planner plans pull requests on the control repository.
type Planner struct {
	selector Selector
}

// NewPlanner plans with sel resolving targets.
func NewPlanner(sel Selector) *Planner { return &Planner{selector: sel} }

// Plan compares the spec folder at the pull request's head with the
// default branch and plans every spec file the pull request adds,
// changes or removes, resolving the targets of each valid one.
func (p *Planner) Plan(ctx context.Context, installationID int64, base, head Snapshot) ([]SpecPlan, error) {
	plans := Touched(base, head)
	for i, sp := range plans {
		if sp.Change == Removed || !sp.Parsed.Valid() || p.selector == nil {
			continue
		}
		t, err := p.selector.Select(ctx, installationID, sp.Parsed.Spec.Targets)
		switch {
		case errors.Is(err, ErrTargetsRejected):
			plans[i].TargetsErr = err
		case err != nil:
			return nil, fmt.Errorf("resolve targets of %s: %w", sp.Path, err)
		default:
			plans[i].Targets = &t
		}
	}
	return plans, nil
}

// Touched lists the spec files a pull request adds, changes or removes,
// parsed and diffed against the base, without resolving targets.
func Touched(base, head Snapshot) []SpecPlan {
	baseFiles := map[string]SpecFile{}
	for _, f := range base.Files {
		if IsSpecPath(f.Path) {
			baseFiles[f.Path] = f
		}
	}
	baseParsed := map[string]ParsedSpec{}
	for _, ps := range base.Parse() {
		baseParsed[ps.Path] = ps
	}
	var plans []SpecPlan
	seen := map[string]bool{}
	for _, ps := range head.Parse() {
		seen[ps.Path] = true
		old, existed := baseFiles[ps.Path]
		if existed && bytes.Equal(old.Data, ps.Raw) && !old.Binary {
			continue // untouched by this pull request
		}
		sp := SpecPlan{Path: ps.Path, Name: ps.Name(), Change: Added, Parsed: ps}
		oldText := ""
		if existed {
			sp.Change = Changed
			oldText = string(old.Data)
		} else if bp, ok := baseByName(baseParsed, ps.Name()); ok {
			oldText = string(bp.Raw) // the spec moved to a new file
		}
		sp.Diff = unifiedDiff(ps.Path, oldText, string(ps.Raw))
		plans = append(plans, sp)
	}
	for path, f := range baseFiles {
		if seen[path] {
			continue
		}
		bp := baseParsed[path]
		if _, moved := headByName(plans, bp.Name()); moved {
			continue
		}
		plans = append(plans, SpecPlan{Path: path, Name: bp.Name(), Change: Removed, Parsed: bp,
			Diff: unifiedDiff(path, string(f.Data), "")})
	}
	slices.SortFunc(plans, func(a, b SpecPlan) int { return strings.Compare(a.Path, b.Path) })
	names := map[string]int{}
	for _, sp := range plans {
		names[sp.Name]++
	}
	for i := range plans {
		plans[i].NameClash = plans[i].Name != "" && names[plans[i].Name] > 1
	}
	return plans
}

func baseByName(m map[string]ParsedSpec, name string) (ParsedSpec, bool) {
	if name == "" {
		return ParsedSpec{}, false
	}
	for _, p := range m {
		if p.Name() == name {
			return p, true
		}
	}
	return ParsedSpec{}, false
}

func headByName(plans []SpecPlan, name string) (SpecPlan, bool) {
	for _, p := range plans {
		if name != "" && p.Name == name && p.Change != Removed {
			return p, true
		}
	}
	return SpecPlan{}, false
}

func unifiedDiff(path, a, b string) string {
	from := "a/" + path
	if a == "" {
		from = "/dev/null"
	}
	to := "b/" + path
	if b == "" {
		to = "/dev/null"
	}
	out, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b), FromFile: from, ToFile: to, Context: 3,
	})
	if err != nil {
		return fmt.Sprintf("(diff unavailable: %v)", err)
	}
	return out
}
