package spec

import (
	"slices"
	"strings"
	"testing"
)

func TestRenderPullRequest(t *testing.T) {
	s := mustParse(t, minimal+`  body: "{{ .Campaign.Name }} v{{ .Campaign.SpecVersion }} on {{ .Repository.FullName }}@{{ .Repository.DefaultBranch }}"
  labels: [automated]
  reviewers: [octocat]
  teamReviewers: [octo-org/platform, other-org/platform]
`)
	data := TemplateData{
		Repository: RepositoryData{Owner: "octo-org", Name: "api", FullName: "octo-org/api", DefaultBranch: "trunk"},
		Campaign:   CampaignData{ID: 9, Name: "bump-go", SpecVersion: 4},
	}
	pr, err := RenderPullRequest(s, data)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Title != "chore: bump Go in api" || pr.CommitMessage != pr.Title {
		t.Errorf("title %q, commit message %q", pr.Title, pr.CommitMessage)
	}
	if pr.Body != "bump-go v4 on octo-org/api@trunk" {
		t.Errorf("body %q", pr.Body)
	}
	if !slices.Equal(pr.TeamReviewers, []string{"platform"}) || !slices.Equal(pr.Labels, []string{"automated"}) || !slices.Equal(pr.Reviewers, []string{"octocat"}) {
		t.Errorf("reviewers/labels %+v", pr)
	}
	// The default body renders, with and without a description and URL.
	s2 := mustParse(t, minimal+"description: Why.\n")
	pr, err = RenderPullRequest(s2, SampleData(s2))
	if err != nil || !strings.HasPrefix(pr.Body, "Why.\n\nThis pull request was opened by campaign `bump-go` (spec version 1); see the [campaign dashboard](") {
		t.Errorf("default body %q, %v", pr.Body, err)
	}
	data.Campaign.Description, data.Campaign.URL = "", ""
	pr, err = RenderPullRequest(s2, data)
	if err != nil || pr.Body != "This pull request was opened by campaign `bump-go` (spec version 4).\n" {
		t.Errorf("default body %q, %v", pr.Body, err)
	}
}

func TestRenderPullRequestCutsTitle(t *testing.T) {
	s := &Spec{PullRequest: PullRequest{Title: "{{ .Campaign.Description }}"}}
	pr, err := RenderPullRequest(s, TemplateData{Campaign: CampaignData{Description: "line one\nline two " + strings.Repeat("x", 300)}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(pr.Title, "\n") || len([]rune(pr.Title)) != 256 || !strings.HasPrefix(pr.Title, "line one line two x") {
		t.Errorf("title %q", pr.Title)
	}
}

func TestRenderPullRequestErrors(t *testing.T) {
	s := &Spec{PullRequest: PullRequest{Title: "{{ .Repository.Nmae }}"}}
	if _, err := RenderPullRequest(s, TemplateData{}); err == nil || !strings.Contains(err.Error(), "did you mean .Repository.Name?") {
		t.Errorf("err = %v", err)
	}
	if _, err := RenderPullRequest(nil, TemplateData{}); err == nil {
		t.Error("nil spec: no error")
	}
}

// Templates may not make rendering expensive: every construct that could
// loop, recurse or allocate without bound is rejected.
func TestTemplateRestrictions(t *testing.T) {
	tests := []struct{ tmpl, want string }{
		{`{{ range 1000000000 }}{{ end }}`, "range is not allowed"},
		{`{{ define "a" }}{{ template "a" . }}{{ end }}x`, "define and block are not allowed"},
		{`{{ block "b" . }}x{{ end }}`, "define and block are not allowed"},
		{`{{ if true }}{{ template "x" }}{{ end }}`, "not allowed"},
		{`{{ printf "%0999999999d" 1 }}`, "widths and precisions above 999"},
		{`{{ printf "%*d" 1000000000 1 }}`, "widths and precisions above 999"},
		{`{{ printf "%.*f" 1000000000 1.0 }}`, "widths and precisions above 999"},
		{`{{ printf "%s-%05d" "ok" 7 }}{{ .Campaign.Nope }}`, "unknown template field .Campaign.Nope"},
		{`{{ .Repository.Name.X }}`, "unknown template field .Repository.Name.X"},
		{`{{ index .Repository.Name 99 }}`, "template failed at index .Repository.Name 99: error calling index: index out of range: 99"},
		{strings.Repeat("{{ .Campaign.Name }}", 1) + `{{ print "` + strings.Repeat("x", 1000) + `" }}`, ""},
	}
	data := SampleData(&Spec{Name: "n"})
	for _, tt := range tests {
		_, err := render("t", tt.tmpl, data)
		if tt.want == "" {
			if err != nil {
				t.Errorf("render(%.40q) = %v", tt.tmpl, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("render(%.40q) = %v, want %q", tt.tmpl, err, tt.want)
		}
	}
	// Output is bounded even when built from small pieces.
	big := strings.Repeat(`{{ print "`+strings.Repeat("x", 1000)+`" }}`, 70)
	if _, err := render("t", big, data); err == nil || !strings.Contains(err.Error(), "longer than 64 KiB") {
		t.Errorf("big output: %v", err)
	}
}

func TestTemplateFieldsDocumented(t *testing.T) {
	// Every field listed in TemplateData's doc comment exists, and the
	// ones the issue promises are there.
	fields := templateFields()
	for _, f := range []string{".Repository.Name", ".Repository.Owner", ".Repository.FullName", ".Repository.DefaultBranch",
		".Campaign.Name", ".Campaign.Description", ".Campaign.SpecVersion", ".Campaign.ID", ".Campaign.URL", ".Repository.URL"} {
		if !slices.Contains(fields, f) {
			t.Errorf("TemplateData lacks %s", f)
		}
	}
}
