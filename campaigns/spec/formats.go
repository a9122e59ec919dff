package spec

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// issue is a problem inside one string value. off is a byte offset into the
// value for problems in part of it (a query term, a template action); 0
// points at the whole value.
type issue struct {
	off int
	sev Severity
	msg string
}

func errIssue(format string, args ...any) []issue {
	return []issue{{sev: Error, msg: fmt.Sprintf(format, args...)}}
}

// format is a named string format used by `spec:"format=NAME"` tags. The
// validator runs check; the schema generator emits pattern (a JSON Schema
// regular expression never stricter than check) and desc.
type format struct {
	pattern string
	desc    string
	check   func(s *Spec, v string) []issue
}

// Exported so other packages (and the JSON Schema) share one definition.
const (
	// NamePattern is the pattern of a campaign name.
	NamePattern = `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`
	// SlackChannelPattern matches "#channel-name" or a channel ID.
	SlackChannelPattern = `^(#[a-z0-9._-]{1,80}|[CG][A-Z0-9]{8,20})$`
	loginPattern        = `[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}`
	envNamePattern      = `^[A-Za-z_][A-Za-z0-9_]{0,127}$`
	stepNamePattern     = `^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$`
)

var (
	nameRe     = regexp.MustCompile(NamePattern)
	slackRe    = regexp.MustCompile(SlackChannelPattern)
	envNameRe  = regexp.MustCompile(envNamePattern)
	stepNameRe = regexp.MustCompile(stepNamePattern)
)

// reservedEnv are environment variables the runner sets, or that would let a
// step escape its sandbox or confuse git; steps may not override them.
var reservedEnv = []string{"HOME", "PATH", "PWD", "SHELL", "USER", "HOSTNAME", "GITHUB_TOKEN", "GH_TOKEN", "LD_PRELOAD", "LD_LIBRARY_PATH"}

// reservedEnvPrefixes are prefixes of reserved environment variable names.
var reservedEnvPrefixes = []string{"CAMPAIGN_", "CAMPAIGNBOT_", "GIT_", "RUNNER_"}

// ReservedEnvName reports whether a step may not set the environment
// variable name (compared case-insensitively): the runner owns it.
func ReservedEnvName(name string) bool {
	up := strings.ToUpper(name)
	return slices.Contains(reservedEnv, up) ||
		slices.ContainsFunc(reservedEnvPrefixes, func(p string) bool { return strings.HasPrefix(up, p) })
}

// formats is the table behind `format=` tags. It is read-only.
var formats = map[string]format{
	"name": {
		pattern: NamePattern,
		desc:    "lowercase letters, digits and hyphens; 1-63 characters; starts and ends with a letter or digit",
		check: func(_ *Spec, v string) []issue {
			if !nameRe.MatchString(v) {
				return errIssue("invalid name %q: use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit (like bump-go-1-26)", v)
			}
			return nil
		},
	},
	"owner": {
		pattern: `^` + loginPattern + `(/[a-z0-9][a-z0-9_-]{0,99})?$`,
		desc:    "a team as org/team-slug or a user login",
		check: func(_ *Spec, v string) []issue {
			if strings.Contains(v, "/") {
				return asIssues(checkTeam(v))
			}
			return asIssues(checkLogin(v))
		},
	},
	"login": {
		pattern: `^` + loginPattern + `$`,
		desc:    "a GitHub user login",
		check:   func(_ *Spec, v string) []issue { return asIssues(checkLogin(v)) },
	},
	"team": {
		pattern: `^` + loginPattern + `/[a-z0-9][a-z0-9_-]{0,99}$`,
		desc:    "a team as org/team-slug",
		check:   func(_ *Spec, v string) []issue { return asIssues(checkTeam(v)) },
	},
	"repo": {
		pattern: `^` + loginPattern + `/[A-Za-z0-9._-]{1,100}$`,
		desc:    "a repository as owner/name",
		check:   func(_ *Spec, v string) []issue { return asIssues(ValidateRepoName(v)) },
	},
	"repoGlob": {
		desc:  "an owner/name glob pattern (path.Match syntax, case-insensitive)",
		check: checkRepoGlob,
	},
	"path": {
		desc:  "a repository-relative file path",
		check: checkRelPath,
	},
	"pathGlob": {
		desc:  "a repository-relative path pattern (path.Match syntax)",
		check: checkPathGlob,
	},
	"topic": {
		pattern: topicRe.String(),
		desc:    "a GitHub topic: lowercase letters, digits and hyphens, at most 50 characters",
		check: func(_ *Spec, v string) []issue {
			if !topicRe.MatchString(v) {
				return errIssue("invalid topic %q: GitHub topics are 1-50 lowercase letters, digits and hyphens, starting with a letter or digit", v)
			}
			return nil
		},
	},
	"stepName": {
		pattern: stepNamePattern,
		desc:    "letters, digits, spaces, '.', '_' and '-'; at most 63 characters",
		check: func(_ *Spec, v string) []issue {
			if !stepNameRe.MatchString(v) {
				return errIssue("invalid step name %q: use at most 63 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit", v)
			}
			return nil
		},
	},
	"image": {
		desc:  "a container image reference: [registry[:port]/]path[:tag][@sha256:digest]",
		check: checkImage,
	},
	"envName": {
		pattern: envNamePattern,
		desc:    "an environment variable name (identifier), not a reserved name",
		check:   checkEnvName,
	},
	"label": {
		desc: "a label: 1-50 characters, no line breaks",
		check: func(_ *Spec, v string) []issue {
			if strings.TrimSpace(v) != v || strings.ContainsAny(v, "\r\n") || utf8.RuneCountInString(v) > 50 {
				return errIssue("invalid label %q: labels are 1-50 characters without line breaks or surrounding spaces", v)
			}
			return nil
		},
	},
	"slack": {
		pattern: SlackChannelPattern,
		desc:    `a Slack channel: "#name" (lowercase letters, digits, '.', '_', '-') or a channel ID like C0123ABCD`,
		check: func(_ *Spec, v string) []issue {
			if !slackRe.MatchString(v) {
				return errIssue("invalid Slack channel %q: use \"#name\" (lowercase letters, digits, '.', '_' or '-', at most 80) or a channel ID like C0123ABCD", v)
			}
			return nil
		},
	},
	"query": {
		desc:  "a GitHub repository search query",
		check: func(_ *Spec, v string) []issue { return checkQuery(v) },
	},
	"template": {
		desc:  "a Go text/template over TemplateData",
		check: checkTemplateField,
	},
}

func asIssues(err error) []issue {
	if err == nil {
		return nil
	}
	return []issue{{sev: Error, msg: err.Error()}}
}

func checkRepoGlob(_ *Spec, v string) []issue {
	if _, err := path.Match(v, ""); err != nil {
		return errIssue("invalid pattern %q: %v", v, err)
	}
	if !strings.Contains(v, "/") {
		return []issue{{sev: Warning, msg: fmt.Sprintf("pattern %q has no '/': it is matched against owner/name and * does not match '/', so it matches nothing; did you mean \"*/%s\"?", v, v)}}
	}
	return nil
}

func checkRelPath(_ *Spec, v string) []issue {
	switch {
	case strings.HasPrefix(v, "/"):
		return errIssue("path %q must be relative to the repository root (no leading '/')", v)
	case strings.ContainsAny(v, "\\\x00") || strings.ContainsFunc(v, unicode.IsControl):
		return errIssue("path %q contains a backslash or control character", v)
	case path.Clean(v) != v || v == "." || strings.HasPrefix(v, "../") || v == "..":
		return errIssue("path %q is not clean: write %q", v, strings.TrimPrefix(path.Clean(v), "/"))
	}
	return nil
}

func checkPathGlob(_ *Spec, v string) []issue {
	if _, err := path.Match(v, ""); err != nil {
		return errIssue("invalid pattern %q: %v (path.Match syntax: *, ?, [a-z], \\ escapes)", v, err)
	}
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") {
		return errIssue("pattern %q must be relative to the repository root, like %q", v, strings.TrimLeft(v, "./"))
	}
	if strings.Contains(v, "**") {
		return []issue{{sev: Warning, msg: fmt.Sprintf("pattern %q: ** is not special in path.Match syntax, it matches like * and never crosses '/'", v)}}
	}
	return nil
}

func checkEnvName(_ *Spec, v string) []issue {
	if !envNameRe.MatchString(v) {
		return errIssue("invalid environment variable name %q: use letters, digits and '_', not starting with a digit", v)
	}
	if ReservedEnvName(v) {
		return errIssue("environment variable %s is reserved for the runner (reserved: %s and names starting with %s)",
			v, strings.Join(reservedEnv, ", "), strings.Join(reservedEnvPrefixes, ", "))
	}
	return nil
}
