package spec_test

import (
	"fmt"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

func ExampleParse() {
	data := []byte(`version: 1
name: bump-go
targets:
  query: "org:octo-org language:Go"
steps:
  - name: bump
    image: golang:1.26-alpine
    run: go mod edit -go=1.26
pullRequest:
  title: "chore: bump Go in {{ .Repository.Nmae }}"
rollout:
  maxOpenPRs: 20000
`)
	s, diags := spec.Parse("campaigns/bump-go.yaml", data)
	for _, d := range diags {
		fmt.Println(d)
	}
	fmt.Println("prsPerHour default:", s.Rollout.PRsPerHour)
	// Output:
	// campaigns/bump-go.yaml:10:32: unknown template field .Repository.Nmae (did you mean .Repository.Name?)
	// campaigns/bump-go.yaml:12:15: `maxOpenPRs` must be between 1 and 10000, got 20000
	// prsPerHour default: 60
}

func ExampleBranchName() {
	fmt.Println(spec.BranchName(42, 3, "Octo-Org/My.Repo"))
	// Output: campaign/42/3/octo-org-my.repo
}

func ExampleRenderPullRequest() {
	s, _ := spec.Parse("x.yaml", []byte(`version: 1
name: bump-go
targets: {repositories: [octo-org/api]}
steps: [{name: bump, run: go mod edit -go=1.26}]
pullRequest:
  title: "chore: bump Go in {{ .Repository.Name }}"
  teamReviewers: [octo-org/go-guild, other-org/reviewers]
`))
	pr, err := spec.RenderPullRequest(s, spec.TemplateData{
		Repository: spec.RepositoryData{Owner: "octo-org", Name: "api", FullName: "octo-org/api", DefaultBranch: "main"},
		Campaign:   spec.CampaignData{ID: 42, Name: "bump-go", SpecVersion: 1},
	})
	fmt.Println(pr.Title, err)
	fmt.Println(pr.TeamReviewers)
	// Output:
	// chore: bump Go in api <nil>
	// [go-guild]
}
