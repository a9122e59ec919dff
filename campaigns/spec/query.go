package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxQueryLength is GitHub's limit on a search query.
const MaxQueryLength = 256

var (
	qualifierRe = regexp.MustCompile(`^-?([A-Za-z][A-Za-z-]*):(.*)$`)
	numRangeRe  = regexp.MustCompile(`^((>=|<=|>|<)?\d+|(\d+|\*)\.\.(\d+|\*))$`)
	dateRe      = `\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?`
	dateRangeRe = regexp.MustCompile(`^((>=|<=|>|<)?` + dateRe + `|(` + dateRe + `|\*)\.\.(` + dateRe + `|\*))$`)
)

// queryQualifiers are the repository-search qualifiers campaignbot knows,
// with a check of the value ("" = any non-empty value is fine).
//
// Policy: a qualifier whose key is a near miss of a known one (langauge:) is
// an error, because GitHub would silently treat it as text and select a
// different set of repositories; any other unknown key is a warning, so a
// qualifier GitHub adds later does not block specs.
var queryQualifiers = map[string]func(string) string{
	"org":                orLogin,
	"user":               orLogin,
	"repo":               func(v string) string { return errString(ValidateRepoName(v)) },
	"topic":              nil,
	"topics":             numRange,
	"language":           nil,
	"license":            nil,
	"archived":           oneOf("true", "false"),
	"fork":               oneOf("true", "false", "only"),
	"mirror":             oneOf("true", "false"),
	"template":           oneOf("true", "false"),
	"is":                 oneOf("public", "private", "internal", "archived", "fork", "mirror", "template", "sponsorable"),
	"in":                 inList,
	"stars":              numRange,
	"forks":              numRange,
	"size":               numRange,
	"followers":          numRange,
	"good-first-issues":  numRange,
	"help-wanted-issues": numRange,
	"pushed":             dateRange,
	"created":            dateRange,
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func orLogin(v string) string { return errString(checkLogin(v)) }

func oneOf(vals ...string) func(string) string {
	return func(v string) string {
		for _, x := range vals {
			if strings.EqualFold(v, x) {
				return ""
			}
		}
		return "must be one of " + strings.Join(vals, ", ")
	}
}

func inList(v string) string {
	for _, part := range strings.Split(v, ",") {
		if msg := oneOf("name", "description", "readme", "topics")(part); msg != "" {
			return msg + " (comma-separated)"
		}
	}
	return ""
}

func numRange(v string) string {
	if !numRangeRe.MatchString(v) {
		return "must be a number or range like 10, >=10, <100 or 10..50"
	}
	return ""
}

func dateRange(v string) string {
	if !dateRangeRe.MatchString(v) {
		return "must be a date or range like 2024-01-01, >2024-01-01 or 2024-01-01..2024-06-30"
	}
	return ""
}

// queryTerm is one whitespace-separated term of a query, quotes kept.
type queryTerm struct {
	off  int
	text string
}

// splitQuery splits a query into terms, keeping quoted phrases together. It
// returns the offset of an unterminated quote, or -1.
func splitQuery(q string) ([]queryTerm, int) {
	var terms []queryTerm
	start, quote := -1, -1
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '"':
			if quote < 0 {
				quote = i
			} else {
				quote = -1
			}
			if start < 0 {
				start = i
			}
		case (c == ' ' || c == '\t') && quote < 0:
			if start >= 0 {
				terms = append(terms, queryTerm{start, q[start:i]})
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		terms = append(terms, queryTerm{start, q[start:]})
	}
	return terms, quote
}

// checkQuery checks the shape of a GitHub repository search query: GitHub
// itself answers a malformed query with a different set of repositories,
// not an error, so mistakes must be caught here.
func checkQuery(q string) []issue {
	switch {
	case strings.TrimSpace(q) == "":
		return errIssue("query must not be blank")
	case strings.ContainsAny(q, "\r\n"):
		return []issue{{off: strings.IndexAny(q, "\r\n"), sev: Error, msg: "query must be one line: GitHub search does not accept line breaks"}}
	case len(q) > MaxQueryLength:
		return errIssue("query is %d characters long; GitHub search accepts at most %d", len(q), MaxQueryLength)
	}
	terms, open := splitQuery(q)
	if open >= 0 {
		return []issue{{off: open, sev: Error, msg: "unbalanced quote in query: this \" is never closed"}}
	}
	var out []issue
	scoped := false
	known := make([]string, 0, len(queryQualifiers))
	for k := range queryQualifiers {
		known = append(known, k)
	}
	for _, t := range terms {
		m := qualifierRe.FindStringSubmatch(t.text)
		if m == nil {
			continue
		}
		key, val := strings.ToLower(m[1]), strings.Trim(m[2], `"`)
		check, ok := queryQualifiers[key]
		if !ok {
			if s := suggestSorted(key, known); s != "" {
				out = append(out, issue{t.off, Error, fmt.Sprintf("unknown search qualifier `%s:` (did you mean `%s:`?)", m[1], s)})
			} else {
				out = append(out, issue{t.off, Warning, fmt.Sprintf("unknown search qualifier `%s:`: GitHub may treat it as plain text", m[1])})
			}
			continue
		}
		if val == "" {
			out = append(out, issue{t.off, Error, fmt.Sprintf("search qualifier `%s:` has no value", m[1])})
			continue
		}
		if check != nil {
			if msg := check(val); msg != "" {
				out = append(out, issue{t.off, Error, fmt.Sprintf("search qualifier `%s:%s`: %s", m[1], m[2], msg)})
				continue
			}
		}
		if (key == "org" || key == "user" || key == "repo") && !strings.HasPrefix(t.text, "-") {
			scoped = true
		}
	}
	if !scoped && len(out) == 0 {
		out = append(out, issue{sev: Warning, msg: "query has no org:, user: or repo: qualifier, so it searches every repository the app can see; add org:NAME to scope it"})
	}
	return out
}

// suggestSorted is suggest over a candidate list built from a map: sorting
// first keeps the suggestion deterministic when two are equally close.
func suggestSorted(s string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	slices.Sort(sorted)
	return suggest(s, sorted)
}
