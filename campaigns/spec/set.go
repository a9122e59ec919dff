package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ValidateSet parses and validates every spec file of a control repository
// and checks the rules that span files: campaign names are unique. A
// duplicate is reported at the name of the later file (in path order, so the
// result does not depend on the order of files), naming the earlier one.
func ValidateSet(files []File) Diagnostics {
	_, diags := ParseSet(files)
	return diags
}

// ParseSet is ValidateSet that also returns the parsed specs by path (a
// path maps to nil when its file could not be decoded), for callers that go
// on to use them, such as the orchestrator on a push to the control
// repository.
func ParseSet(files []File) (map[string]*Spec, Diagnostics) {
	sorted := slices.Clone(files)
	slices.SortStableFunc(sorted, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	specs := make(map[string]*Spec, len(files))
	var all Diagnostics
	firstByName := map[string]string{}
	for _, f := range sorted {
		s, diags := Parse(f.Path, f.Data)
		specs[f.Path] = s
		all = append(all, diags...)
		if s == nil || s.Name == "" || s.src.isBad("name") {
			continue
		}
		if first, dup := firstByName[s.Name]; dup {
			p := s.Position("name")
			all = append(all, Diagnostic{File: f.Path, Line: p.Line, Column: p.Column, Severity: Error, Field: "name",
				Message: fmt.Sprintf("campaign name %q is already used by %s: names must be unique in the control repository", s.Name, first)})
			continue
		}
		firstByName[s.Name] = f.Path
	}
	all.Sort()
	return specs, all
}

// ValidateFiles reads spec files and validates them as one set, for
// `campaignbot ctl validate FILE...`. A directory stands for every *.yaml and
// *.yml file below it. A file that cannot be read becomes a diagnostic
// (without position) and is also part of the returned error, which is
// non-nil only for such I/O problems; spec problems are only diagnostics.
// Reading stops just past MaxFileSize, so a huge file costs nothing and is
// reported as too big.
func ValidateFiles(paths []string) (Diagnostics, error) {
	var files []File
	var ioDiags Diagnostics
	var errs []error
	fail := func(p string, err error) {
		errs = append(errs, err)
		ioDiags = append(ioDiags, Diagnostic{File: p, Severity: Error, Message: "cannot read file: " + unwrapPathError(err)})
	}
	var expanded []string
	for _, p := range paths {
		found, err := specFiles(p)
		if err != nil {
			fail(p, err)
		}
		expanded = append(expanded, found...)
	}
	for _, p := range expanded {
		data, err := readLimited(p)
		if err != nil {
			fail(p, err)
			continue
		}
		files = append(files, File{Path: p, Data: data})
	}
	diags := append(ValidateSet(files), ioDiags...)
	diags.Sort()
	return diags, errors.Join(errs...)
}

// specFiles expands a directory into the spec files below it; any other
// path is returned as is (and fails later if it cannot be read).
func specFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil || !info.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("list spec files: %w", err)
	}
	return out, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read spec %s: %w", path, err)
	}
	return data, nil
}

// unwrapPathError drops the path from an *os.PathError message: the
// diagnostic already names the file.
func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
