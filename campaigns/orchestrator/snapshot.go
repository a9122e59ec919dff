package orchestrator

import (
	"path"
	"slices"
	"strings"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

// SpecFile is one file of the control repository's spec folder at a commit.
type SpecFile struct {
	Path string
	Data []byte
	// Binary and Truncated come from GitHub: a binary blob has no text,
	// and GitHub cuts very large blobs' text.
	Binary    bool
	Truncated bool
	Size      int
}

// Snapshot is the spec folder of a control repository at one commit.
type Snapshot struct {
	Repo   string // owner/name
	Commit string
	Files  []SpecFile
}

// IsSpecPath reports whether a file name in the spec folder is a spec.
func IsSpecPath(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}

// ParsedSpec is one spec file after validation.
type ParsedSpec struct {
	Path        string
	Raw         []byte
	Spec        *spec.Spec // nil when it could not be decoded at all
	Diagnostics spec.Diagnostics
}

// Valid reports whether the spec can be used (warnings allowed).
func (p ParsedSpec) Valid() bool { return p.Spec != nil && !p.Diagnostics.HasErrors() }

// Name is the campaign name, or "" when the file has none readable.
func (p ParsedSpec) Name() string {
	if p.Spec == nil {
		return ""
	}
	return p.Spec.Name
}

// Parse validates every spec file of the snapshot as one set (names must
// be unique across files) and returns them by path.
func (s Snapshot) Parse() []ParsedSpec {
	var files []spec.File
	var out []ParsedSpec
	byPath := map[string]int{}
	for _, f := range s.Files {
		if !IsSpecPath(f.Path) {
			continue
		}
		p := ParsedSpec{Path: f.Path, Raw: f.Data}
		switch {
		case f.Binary:
			p.Diagnostics = spec.Diagnostics{{File: f.Path, Line: 1, Column: 1, Severity: spec.Error,
				Message: "file is binary: a spec must be UTF-8 YAML text"}}
		case f.Truncated || f.Size > spec.MaxFileSize:
			p.Diagnostics = spec.Diagnostics{{File: f.Path, Line: 1, Column: 1, Severity: spec.Error,
				Message: "file is too large: a spec may be at most 262144 bytes (256 KiB)"}}
		default:
			files = append(files, spec.File{Path: f.Path, Data: f.Data})
			p.Spec, _ = spec.Parse(f.Path, f.Data)
		}
		byPath[f.Path] = len(out)
		out = append(out, p)
	}
	for _, d := range spec.ValidateSet(files) {
		if i, ok := byPath[d.File]; ok {
			out[i].Diagnostics = append(out[i].Diagnostics, d)
		}
	}
	slices.SortFunc(out, func(a, b ParsedSpec) int { return strings.Compare(a.Path, b.Path) })
	return out
}
