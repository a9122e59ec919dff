package spec

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// TemplateData is what pull-request templates (pullRequest.title, body and
// commitMessage) see as ".":
//
//	{{ .Repository.Owner }}          octo-org
//	{{ .Repository.Name }}           api
//	{{ .Repository.FullName }}       octo-org/api
//	{{ .Repository.DefaultBranch }}  main
//	{{ .Repository.URL }}            https://github.com/octo-org/api
//	{{ .Campaign.ID }}               42
//	{{ .Campaign.Name }}             bump-go-1-26
//	{{ .Campaign.Description }}      the spec's description
//	{{ .Campaign.SpecVersion }}      3
//	{{ .Campaign.URL }}              link to the campaign's dashboard
//
// Templates use Go text/template syntax with missingkey=error: a misspelt
// field is an error when the spec is validated, not when a pull request is
// published. The text/template built-in functions are available; printf
// rejects widths and precisions above 999. range, define, template and
// block are not allowed: there is nothing to loop over, and they would let a
// spec make rendering arbitrarily expensive.
type TemplateData struct {
	Repository RepositoryData
	Campaign   CampaignData
}

// RepositoryData describes the target repository.
type RepositoryData struct {
	Owner         string
	Name          string
	FullName      string
	DefaultBranch string
	URL           string
}

// CampaignData describes the campaign.
type CampaignData struct {
	ID          int64
	Name        string
	Description string
	SpecVersion int
	URL         string
}

// SampleData is the data templates are executed with at validation time and
// in plan previews.
func SampleData(s *Spec) TemplateData {
	d := TemplateData{
		Repository: RepositoryData{
			Owner: "octo-org", Name: "example-repository", FullName: "octo-org/example-repository",
			DefaultBranch: "main", URL: "https://github.com/octo-org/example-repository",
		},
		Campaign: CampaignData{ID: 1, SpecVersion: 1, URL: "https://campaignbot.example.com/campaigns/1"},
	}
	if s != nil {
		d.Campaign.Name, d.Campaign.Description = s.Name, s.Description
	}
	return d
}

// maxRendered bounds a rendered template; GitHub's body limit is 65536.
const maxRendered = 1 << 16

// RenderedPullRequest is a spec's pull request for one repository.
type RenderedPullRequest struct {
	Title         string
	Body          string
	CommitMessage string
	Draft         bool
	Labels        []string
	Reviewers     []string
	// TeamReviewers are team slugs of the repository's organisation only:
	// GitHub can request review only from teams of the repository's owner.
	TeamReviewers []string
}

// RenderPullRequest renders the spec's pull request for one repository.
// The title is collapsed to one line and cut to 256 characters, and the
// body to 65536 bytes, because GitHub rejects longer ones and a cosmetic
// overflow must not fail publishing. Defaults are applied first.
func RenderPullRequest(s *Spec, data TemplateData) (RenderedPullRequest, error) {
	if s == nil {
		return RenderedPullRequest{}, errors.New("render pull request: nil spec")
	}
	pr := s.WithDefaults().PullRequest
	out := RenderedPullRequest{
		Draft:     pr.Draft,
		Labels:    append([]string(nil), pr.Labels...),
		Reviewers: append([]string(nil), pr.Reviewers...),
	}
	for _, t := range pr.TeamReviewers {
		if org, slug, ok := strings.Cut(t, "/"); ok && strings.EqualFold(org, data.Repository.Owner) {
			out.TeamReviewers = append(out.TeamReviewers, slug)
		}
	}
	var err error
	if out.Title, err = render("title", pr.Title, data); err != nil {
		return RenderedPullRequest{}, fmt.Errorf("render pull request title: %w", err)
	}
	if out.Body, err = render("body", pr.Body, data); err != nil {
		return RenderedPullRequest{}, fmt.Errorf("render pull request body: %w", err)
	}
	if out.CommitMessage, err = render("commitMessage", pr.CommitMessage, data); err != nil {
		return RenderedPullRequest{}, fmt.Errorf("render commit message: %w", err)
	}
	out.Title = truncate(strings.Join(strings.Fields(out.Title), " "), 256)
	out.Body = truncateBytes(out.Body, maxRendered)
	return out, nil
}

func truncate(s string, runes int) string {
	if utf8.RuneCountInString(s) <= runes {
		return s
	}
	return string([]rune(s)[:runes-1]) + "…"
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// templateError is a template problem with its byte offset in the source.
type templateError struct {
	off int
	msg string
}

func (e *templateError) Error() string { return e.msg }

// render parses and executes one template.
func render(name, text string, data TemplateData) (string, error) {
	t, err := parseTemplate(name, text)
	if err != nil {
		return "", err
	}
	var b limitedBuffer
	if err := t.Execute(&b, data); err != nil {
		return "", execError(text, err)
	}
	return b.String(), nil
}

func parseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{"printf": safePrintf}).Parse(text)
	if err != nil {
		return nil, parseError(text, err)
	}
	if len(t.Templates()) > 1 {
		return nil, &templateError{off: strings.Index(text, "define"), msg: "define and block are not allowed in templates"}
	}
	if t.Tree != nil {
		if n := forbiddenNode(t.Tree.Root); n != nil {
			return nil, &templateError{off: int(n.Position()), msg: fmt.Sprintf("%s is not allowed in templates", nodeKeyword(n))}
		}
	}
	return t, nil
}

// forbiddenNode finds the first range or template node: both can make
// execution arbitrarily long.
func forbiddenNode(n parse.Node) parse.Node {
	switch n := n.(type) {
	case *parse.RangeNode, *parse.TemplateNode, *parse.BreakNode, *parse.ContinueNode:
		return n
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if f := forbiddenNode(c); f != nil {
				return f
			}
		}
	case *parse.IfNode:
		return firstForbidden(n.List, n.ElseList)
	case *parse.WithNode:
		return firstForbidden(n.List, n.ElseList)
	}
	return nil
}

func firstForbidden(lists ...*parse.ListNode) parse.Node {
	for _, l := range lists {
		if l != nil {
			if f := forbiddenNode(l); f != nil {
				return f
			}
		}
	}
	return nil
}

func nodeKeyword(n parse.Node) string {
	switch n.(type) {
	case *parse.RangeNode:
		return "range"
	case *parse.TemplateNode:
		return "template"
	}
	return "break/continue"
}

var (
	parseErrRe = regexp.MustCompile(`^template: [^:]*:(\d+):(?:\d+:)? ?(.*)$`)
	execErrRe  = regexp.MustCompile(`^template: [^:]*:\d+:\d+: executing "[^"]*" at <([^>]*)>: (.*)$`)
	fieldErrRe = regexp.MustCompile(`^can't evaluate field (\w+) in type`)
)

// parseError turns a text/template parse error into a templateError with
// the offset of the line it names.
func parseError(text string, err error) error {
	m := parseErrRe.FindStringSubmatch(err.Error())
	if m == nil {
		return &templateError{msg: "invalid template: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	off := 0
	for i := 1; i < line; i++ {
		j := strings.IndexByte(text[off:], '\n')
		if j < 0 {
			break
		}
		off += j + 1
	}
	// Point at the first action on that line: the error is in one of them.
	if j := strings.Index(text[off:], "{{"); j >= 0 && !strings.Contains(text[off:off+j], "\n") {
		off += j
	}
	return &templateError{off: off, msg: "invalid template: " + m[2]}
}

// execError rewrites execution errors, above all unknown fields, which
// text/template reports in terms of Go types.
func execError(text string, err error) error {
	var te *templateError
	if errors.As(err, &te) {
		return te
	}
	m := execErrRe.FindStringSubmatch(err.Error())
	if m == nil {
		return &templateError{msg: "template failed: " + err.Error()}
	}
	ctx, msg := m[1], m[2]
	off := max(strings.Index(text, ctx), 0)
	if fm := fieldErrRe.FindStringSubmatch(msg); fm != nil {
		field := fieldPathOf(ctx, fm[1])
		if s := suggest(field, templateFields()); s != "" {
			return &templateError{off: off, msg: fmt.Sprintf("unknown template field %s (did you mean %s?)", field, s)}
		}
		return &templateError{off: off, msg: fmt.Sprintf("unknown template field %s (available: %s)", field, strings.Join(templateFields(), ", "))}
	}
	return &templateError{off: off, msg: fmt.Sprintf("template failed at %s: %s", ctx, msg)}
}

// fieldPathOf returns the prefix of ctx up to and including the field that
// failed, e.g. ".Repository.Nmae" from "<.Repository.Nmae.X>".
func fieldPathOf(ctx, field string) string {
	parts := strings.Split(ctx, ".")
	for i, p := range parts {
		if p == field {
			return strings.Join(parts[:i+1], ".")
		}
	}
	return ctx
}

// templateFields lists every field path of TemplateData, for suggestions.
func templateFields() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			p := prefix + "." + f.Name
			out = append(out, p)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, p)
			}
		}
	}
	walk(reflect.TypeFor[TemplateData](), "")
	return out
}

// limitedBuffer fails writes past maxRendered, so a template cannot produce
// unbounded output.
type limitedBuffer struct{ strings.Builder }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRendered {
		return 0, &templateError{msg: "template output is longer than 64 KiB"}
	}
	return b.Builder.Write(p)
}

var bigVerbArgRe = regexp.MustCompile(`%[-+# 0]*(\*|\d{4,}|\d*\.(\*|\d{4,}))`)

// safePrintf is fmt.Sprintf without huge widths or precisions, which would
// allocate before the output limit can apply.
func safePrintf(format string, args ...any) (string, error) {
	if bigVerbArgRe.MatchString(format) {
		return "", errors.New("printf: widths and precisions above 999 (and *) are not allowed")
	}
	return fmt.Sprintf(format, args...), nil
}

// checkTemplateField is the "template" format: parse, then execute against
// SampleData, reporting the position of the offending action.
func checkTemplateField(s *Spec, v string) []issue {
	if _, err := render("t", v, SampleData(s)); err != nil {
		var te *templateError
		if errors.As(err, &te) {
			return []issue{{off: te.off, sev: Error, msg: te.msg}}
		}
		return errIssue("%v", err)
	}
	return nil
}
