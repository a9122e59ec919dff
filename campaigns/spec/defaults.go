package spec

import (
	"fmt"
	"slices"
	"time"
)

// Defaults of optional fields. [Spec.WithDefaults] fills them in, and the
// JSON Schema publishes them (it reads them from WithDefaults, so the two
// agree).
const (
	DefaultApproval           = ApprovalRequired
	DefaultMaxOpenPRs         = 100
	DefaultPRsPerHour         = 60
	DefaultPauseOnFailureRate = 0.2
	DefaultBaseChanged        = BaseChangedRebase
	DefaultHumanEdits         = HumanEditsStop
	DefaultStepTimeout        = Duration(10 * time.Minute)
	// MaxStepTimeout is the largest step timeout (the `max=2h` tag on
	// Step.Timeout).
	MaxStepTimeout = Duration(2 * time.Hour)
	// DefaultBody is the pull request body when the spec has none.
	DefaultBody = "{{ with .Campaign.Description }}{{ . }}\n\n{{ end }}" +
		"This pull request was opened by campaign `{{ .Campaign.Name }}` (spec version {{ .Campaign.SpecVersion }})" +
		"{{ with .Campaign.URL }}; see the [campaign dashboard]({{ . }}){{ end }}.\n"
)

// DefaultWaves is one wave with every target.
func DefaultWaves() []Wave { return []Wave{{Percent: 100}} }

// WithDefaults returns a copy of the spec with every unset optional field
// filled in: a field is unset when it has its zero value and, for a parsed
// spec, was not written in the file (so an explicit `maxOpenPRs: 0` stays 0
// and is reported by Validate instead of being silently replaced). The
// commit message defaults to the title. It returns nil for a nil spec.
func (s *Spec) WithDefaults() *Spec {
	if s == nil {
		return nil
	}
	d := *s
	d.Owners = slices.Clone(s.Owners)
	d.Steps = slices.Clone(s.Steps)
	d.Rollout.Waves = slices.Clone(s.Rollout.Waves)
	unset := func(path string, zero bool) bool { return zero && !s.src.written(path) }

	for i := range d.Steps {
		if unset(fmt.Sprintf("steps[%d].timeout", i), d.Steps[i].Timeout == 0) {
			d.Steps[i].Timeout = DefaultStepTimeout
		}
	}
	pr := &d.PullRequest
	if unset("pullRequest.body", pr.Body == "") {
		pr.Body = DefaultBody
	}
	if unset("pullRequest.commitMessage", pr.CommitMessage == "") {
		pr.CommitMessage = pr.Title
	}
	r := &d.Rollout
	if unset("rollout.approval", r.Approval == "") {
		r.Approval = DefaultApproval
	}
	if unset("rollout.maxOpenPRs", r.MaxOpenPRs == 0) {
		r.MaxOpenPRs = DefaultMaxOpenPRs
	}
	if unset("rollout.prsPerHour", r.PRsPerHour == 0) {
		r.PRsPerHour = DefaultPRsPerHour
	}
	if unset("rollout.waves", len(r.Waves) == 0) {
		r.Waves = DefaultWaves()
	}
	if unset("rollout.pauseOnFailureRate", r.PauseOnFailureRate == 0) {
		r.PauseOnFailureRate = DefaultPauseOnFailureRate
	}
	if unset("drift.baseChanged", d.Drift.BaseChanged == "") {
		d.Drift.BaseChanged = DefaultBaseChanged
	}
	if unset("drift.humanEdits", d.Drift.HumanEdits == "") {
		d.Drift.HumanEdits = DefaultHumanEdits
	}
	return &d
}
