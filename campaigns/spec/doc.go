// Package spec defines campaign spec v1: the YAML file a platform team commits
// to the control repository to describe one change across many repositories.
//
// The package owns everything about the file itself and nothing about running
// it:
//
//   - Go types for the spec (types.go), decoded from a yaml.Node tree by a
//     small reflective decoder so that every diagnostic carries the exact line
//     and column of the key or value that is wrong (decode.go, parse.go);
//   - defaults, visible through [Spec.WithDefaults] and [Canonical]
//     (defaults.go, marshal.go);
//   - validation driven by the `spec` struct tags plus a few cross-field rules
//     (validate.go, formats.go, query.go, image.go);
//   - pull-request templates checked at validation time by parsing and
//     executing them against sample data (templates.go);
//   - branch names and git ref validation (branch.go);
//   - cross-file checks for a whole control repository (set.go);
//   - a JSON Schema generated from the same types and tags (schema.go), so
//     the schema and the validator cannot drift.
//
// Positions are 1-based; columns count Unicode characters, as yaml.v3 does.
package spec

//go:generate go test -run TestSchemaUpToDate -update .
