package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a diagnostic blocks the spec (Error) or is advice
// (Warning).
type Severity int

const (
	// Error makes the spec unusable: it cannot be planned or run.
	Error Severity = iota
	// Warning is shown to the author but does not block the spec.
	Warning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalText lets Severity appear as a word in JSON (CLI --json, REST API).
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts "error" and "warning", so clients of the REST API
// can decode diagnostics.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Diagnostic is one problem found in a spec file, with the position of the
// key or value that is wrong. Line and Column are 1-based; both are 0 only
// when there is no source to point into (a file that could not be read, or a
// Spec built in Go rather than parsed).
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	// Field is the YAML path of the offending value, like rollout.waves[1]
	// or steps[0].env.GOFLAGS; empty for file-level problems.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// String renders the diagnostic as "file:line:col: message", the format
// editors and CI log parsers understand ("file: message" without a
// position, "message" without a file). Warnings carry a "warning: " prefix
// on the message so they are never mistaken for errors.
func (d Diagnostic) String() string {
	msg := d.Message
	if d.Severity == Warning {
		msg = "warning: " + msg
	}
	switch {
	case d.Line <= 0 && d.File == "":
		return msg
	case d.Line <= 0:
		return fmt.Sprintf("%s: %s", d.File, msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Column, msg)
}

// Diagnostics is a list of diagnostics. The package always returns it sorted
// by file, line and column.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an Error.
func (ds Diagnostics) HasErrors() bool {
	return slices.ContainsFunc(ds, func(d Diagnostic) bool { return d.Severity == Error })
}

// Errors returns only the Error diagnostics.
func (ds Diagnostics) Errors() Diagnostics {
	return ds.filter(Error)
}

// Warnings returns only the Warning diagnostics.
func (ds Diagnostics) Warnings() Diagnostics {
	return ds.filter(Warning)
}

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Err returns nil when there is no Error diagnostic, otherwise a
// *ValidationError holding the errors (warnings never fail a spec).
func (ds Diagnostics) Err() error {
	errs := ds.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Diagnostics: errs}
}

// Strings returns d.String() for every diagnostic, one per line of output.
func (ds Diagnostics) Strings() []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

// Sort orders diagnostics by file, line, column, severity (errors first) and
// message, so output is stable whatever order the checks ran in.
func (ds Diagnostics) Sort() {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// ValidationError is the error returned by [Diagnostics.Err].
type ValidationError struct {
	Diagnostics Diagnostics
}

// Error lists every error diagnostic, one per line.
func (e *ValidationError) Error() string {
	if len(e.Diagnostics) == 1 {
		return "invalid campaign spec: " + e.Diagnostics[0].String()
	}
	return fmt.Sprintf("invalid campaign spec (%d errors):\n%s",
		len(e.Diagnostics), strings.Join(e.Diagnostics.Strings(), "\n"))
}
