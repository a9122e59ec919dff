package spec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// BranchPrefix starts every branch campaignbot pushes.
const BranchPrefix = "campaign/"

// BranchName returns the head branch of a campaign's pull request in one
// repository: campaign/<campaign_id>/<spec_version>/<repo_slug>. specVersion
// is the version that opened the pull request; later versions update the
// same branch, since GitHub cannot change a pull request's head branch.
// The slug is the lowercased "owner-name" with anything a git ref cannot
// hold replaced, so the result always passes ValidateRefName.
func BranchName(campaignID int64, specVersion int, repoFullName string) string {
	return BranchPrefix + strconv.FormatInt(campaignID, 10) + "/" + strconv.Itoa(specVersion) + "/" + RepoSlug(repoFullName)
}

// RepoSlug turns "Octo-Org/My.Repo" into "octo-org-my.repo": lowercase,
// characters outside [a-z0-9._-] become '-', no "..", no leading '.' or
// '-', no trailing '.' or ".lock", at most 100 bytes.
func RepoSlug(fullName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(fullName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		case r == '.':
			if !strings.HasSuffix(b.String(), ".") {
				b.WriteRune(r)
			}
		default:
			b.WriteRune('-')
		}
	}
	s := b.String()
	if len(s) > 100 {
		s = s[:100]
	}
	s = strings.TrimLeft(s, ".-")
	for {
		t := strings.TrimSuffix(strings.TrimRight(s, "."), ".lock")
		if t == s {
			break
		}
		s = t
	}
	if s == "" {
		return "repo"
	}
	return s
}

// ValidateRefName checks a branch name against git's check-ref-format rules
// (as used for refs/heads/<name>) plus GitHub's 255-byte limit.
func ValidateRefName(name string) error {
	bad := func(why string) error { return fmt.Errorf("invalid git ref name %q: %s", name, why) }
	switch {
	case name == "":
		return errors.New("invalid git ref name: empty")
	case len(name) > 255:
		return bad("longer than 255 bytes")
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case name == "@":
		return bad(`"@" alone is not allowed`)
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return bad("empty path component")
	case strings.HasSuffix(name, "."):
		return bad("ends with '.'")
	case strings.Contains(name, ".."):
		return bad(`contains ".."`)
	case strings.Contains(name, "@{"):
		return bad(`contains "@{"`)
	case strings.HasPrefix(name, "-"):
		return bad("starts with '-'")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return bad(fmt.Sprintf("contains %q", r))
		}
	}
	for _, c := range strings.Split(name, "/") {
		if strings.HasPrefix(c, ".") {
			return bad("a component starts with '.'")
		}
		if strings.HasSuffix(c, ".lock") {
			return bad(`a component ends with ".lock"`)
		}
	}
	return nil
}
