package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Marshal writes the spec as YAML, fields in the documented order, without
// comments. It writes what is in s; see Canonical for the defaults.
func Marshal(s *Spec) ([]byte, error) {
	if s == nil {
		return nil, errors.New("marshal spec: nil spec")
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("marshal spec: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal spec: %w", err)
	}
	return b.Bytes(), nil
}

// Canonical writes the spec with every default filled in: the spec exactly
// as campaignbot will run it. `campaignbot ctl validate --canonical` and the
// plan check run show it so defaults are never a surprise. Parsing the
// output yields an equal spec.
func Canonical(s *Spec) ([]byte, error) {
	return Marshal(s.WithDefaults())
}

// ContentHash identifies a spec version: the lowercase hex SHA-256 of the
// raw file bytes. Approvals are bound to it, so it deliberately covers
// everything the approver read: any byte change, even whitespace or a
// comment, makes a new spec version and voids an approval. (Hashing a
// canonical form would let a change the canonicaliser happened to drop slip
// past an approval.) For a Spec built in Go it is the hash of Marshal's
// output.
func (s *Spec) ContentHash() string {
	if s == nil {
		return ""
	}
	raw := []byte(nil)
	if s.src != nil {
		raw = s.src.raw
	} else if b, err := Marshal(s); err == nil {
		raw = b
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
