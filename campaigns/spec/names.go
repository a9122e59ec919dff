package spec

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// suggest returns the candidate closest to s by edit distance (ignoring
// case), or "" when none is close enough to be a plausible typo.
func suggest(s string, candidates []string) string {
	if len(s) > 64 {
		return "" // no key is that long; and edit distance is quadratic
	}
	best, bestDist := "", -1
	ls := strings.ToLower(s)
	// An abbreviation ("repos" for "repositories") is a plausible slip too.
	if len(ls) >= 4 {
		for _, c := range candidates {
			if strings.HasPrefix(strings.ToLower(c), ls) {
				return c
			}
		}
	}
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	// One edit per three characters, at least one and at most three.
	limit := min(max(utf8.RuneCountInString(s)/3, 1), 3)
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b in
// runes: insertions, deletions, substitutions and adjacent transpositions
// ("nmae" -> "name" is one edit, the commonest typo).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	rows := make([][]int, len(ra)+1)
	for i := range rows {
		rows[i] = make([]int, len(rb)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			rows[i][j] = min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				rows[i][j] = min(rows[i][j], rows[i-2][j-2]+1)
			}
		}
	}
	return rows[len(ra)][len(rb)]
}

// GitHub's naming rules. Logins (users and organisations): 1-39 characters,
// letters, digits and single hyphens, not at either end.
var (
	loginRe    = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)
	repoNameRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	teamSlugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,99}$`)
	topicRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,49}$`)
)

// checkLogin validates a GitHub user or organisation login.
func checkLogin(s string) error {
	if !loginRe.MatchString(s) || len(s) > 39 {
		return fmt.Errorf("%q is not a valid GitHub login: 1-39 letters, digits or single hyphens, not starting or ending with a hyphen", s)
	}
	return nil
}

// ValidateRepoName checks an "owner/name" repository name against GitHub's
// rules: a valid login, a slash, and 1-100 letters, digits, '.', '-' or '_'
// (but not "." or "..").
func ValidateRepoName(fullName string) error {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || strings.Contains(name, "/") {
		return fmt.Errorf("%q is not a repository name: want owner/name", fullName)
	}
	if err := checkLogin(owner); err != nil {
		return fmt.Errorf("repository %q: owner: %w", fullName, err)
	}
	if !repoNameRe.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("repository %q: name must be 1-100 letters, digits, '.', '-' or '_'", fullName)
	}
	return nil
}

// checkTeam validates "org/team-slug".
func checkTeam(s string) error {
	org, slug, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("%q is not a team: want org/team-slug", s)
	}
	if err := checkLogin(org); err != nil {
		return fmt.Errorf("team %q: organisation: %w", s, err)
	}
	if !teamSlugRe.MatchString(slug) {
		return fmt.Errorf("team %q: the slug must be lowercase letters, digits, '-' or '_' (as in the team's URL)", s)
	}
	return nil
}
