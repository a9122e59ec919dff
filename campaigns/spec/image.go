package spec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// The container image reference grammar of distribution/reference:
//
//	reference := [domain '/'] path [':' tag] ['@' digest]
//	domain    := host [':' port]
//	path      := component ('/' component)*, lowercase, separators . _ __ -
//	tag       := [\w][\w.-]{0,127}
//
// campaignbot accepts only sha256 digests, the only kind registries serve.
var (
	imageDomainRe    = regexp.MustCompile(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]{1,5})?$`)
	imageComponentRe = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	imageTagRe       = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	imageDigestRe    = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// errUnpinnedImage marks a valid but unpinned image reference (a warning).
var errUnpinnedImage = errors.New("unpinned image")

// ValidateImageRef checks a container image reference such as
// "golang:1.26-alpine", "ghcr.io/octo-org/tools:v2" or
// "registry.local:5000/codemod@sha256:<64 hex>".
func ValidateImageRef(ref string) error {
	if err := imageRef(ref); err != nil && !errors.Is(err, errUnpinnedImage) {
		return err
	}
	return nil
}

func imageRef(ref string) error {
	if ref == "" || len(ref) > 512 || strings.ContainsAny(ref, " \t\r\n") {
		return fmt.Errorf("invalid image %q: an image reference is one word like golang:1.26-alpine", ref)
	}
	name, digest, hasDigest := strings.Cut(ref, "@")
	if hasDigest && !imageDigestRe.MatchString(digest) {
		return fmt.Errorf("invalid image %q: the digest must be sha256: followed by 64 lowercase hex digits", ref)
	}
	tag := ""
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, tag = name[:i], name[i+1:]
		if !imageTagRe.MatchString(tag) {
			return fmt.Errorf("invalid image %q: tag %q must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", ref, tag)
		}
	}
	parts := strings.Split(name, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		if !imageDomainRe.MatchString(parts[0]) {
			return fmt.Errorf("invalid image %q: registry %q is not a valid host[:port]", ref, parts[0])
		}
		parts = parts[1:]
	}
	if len(name) > 255 {
		return fmt.Errorf("invalid image %q: the name is longer than 255 characters", ref)
	}
	for _, p := range parts {
		if !imageComponentRe.MatchString(p) {
			if strings.ToLower(p) != p {
				return fmt.Errorf("invalid image %q: repository path %q must be lowercase", ref, p)
			}
			return fmt.Errorf("invalid image %q: path component %q must be lowercase letters and digits separated by '.', '_', '__' or '-'", ref, p)
		}
	}
	if !hasDigest && (tag == "" || tag == "latest") {
		return errUnpinnedImage
	}
	return nil
}

// checkImage is the "image" format: errors for bad references, a warning
// for an unpinned one (":latest" moves, so runs would not be reproducible).
func checkImage(_ *Spec, v string) []issue {
	err := imageRef(v)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errUnpinnedImage):
		return []issue{{sev: Warning, msg: fmt.Sprintf("image %q is not pinned: :latest changes under you, so repositories may get different results; use a tag or a digest", v)}}
	}
	return asIssues(err)
}
