package spec

// The `spec` struct tag is the single source of constraints: the validator
// (validate.go) enforces it and the JSON Schema generator (schema.go) emits
// it, so the two cannot drift. Keys:
//
//	required       the key must be present (and non-empty)
//	min=, max=     numeric (or duration) bounds, inclusive
//	exclusiveMin=  numeric lower bound, exclusive
//	enum=a|b       allowed values
//	format=NAME    a named string format from the formats table (formats.go);
//	               on a map it applies to the keys
//	maxLen=N       maximum length in characters
//	minItems=N, maxItems=N, unique   list constraints (unique is case-insensitive)
//
// The `doc` tag is the field's one-line description in the JSON Schema.

// Version is the only spec format version this package understands.
const Version = 1

// Spec is a campaign spec, version 1. Parse returns it with defaults applied.
type Spec struct {
	Version     int         `yaml:"version" spec:"required,enum=1" doc:"Spec format version; always 1."`
	Name        string      `yaml:"name" spec:"required,format=name" doc:"Campaign name, unique in the control repository: lowercase letters, digits and hyphens, at most 63 characters."`
	Description string      `yaml:"description,omitempty" spec:"maxLen=4096" doc:"What the campaign does and why; shown in the plan and available to templates as .Campaign.Description."`
	Owners      []string    `yaml:"owners,omitempty" spec:"format=owner,unique,maxItems=50" doc:"Teams (org/team) or users who may approve the campaign, in addition to writers of the control repository."`
	Targets     Targets     `yaml:"targets" spec:"required" doc:"Which repositories the campaign changes."`
	Steps       []Step      `yaml:"steps" spec:"required,minItems=1,maxItems=20" doc:"Commands run, in order, in a checkout of each target repository."`
	Changes     Changes     `yaml:"changes,omitempty" doc:"Safety net on the change the steps produce."`
	PullRequest PullRequest `yaml:"pullRequest" spec:"required" doc:"The pull request opened in each changed repository."`
	Rollout     Rollout     `yaml:"rollout" doc:"Approval and pace of publishing."`
	Drift       Drift       `yaml:"drift" doc:"What happens when an open pull request's base branch moves or a human edits it."`
	Notify      Notify      `yaml:"notify,omitempty" doc:"Where progress is reported besides the check-run dashboard."`

	// src is where the spec came from; nil for a Spec built in Go.
	src *source
}

// Targets selects repositories: the union of Query results and Repositories,
// minus Exclude, keeping only those that satisfy Require.
type Targets struct {
	Query        string   `yaml:"query,omitempty" spec:"format=query" doc:"GitHub repository search query, e.g. \"org:octo-org language:Go archived:false\"."`
	Repositories []string `yaml:"repositories,omitempty" spec:"format=repo,unique,maxItems=10000" doc:"Explicit owner/name list of repositories."`
	Exclude      []string `yaml:"exclude,omitempty" spec:"format=repoGlob,maxItems=1000" doc:"owner/name glob patterns (path.Match syntax, case-insensitive) of repositories to leave out."`
	Require      Require  `yaml:"require,omitempty" doc:"Keep only repositories that have all of these."`
}

// Require filters targets after search.
type Require struct {
	Files  []string `yaml:"files,omitempty" spec:"format=path,maxItems=20" doc:"Files that must exist on the default branch (repository-relative paths)."`
	Topics []string `yaml:"topics,omitempty" spec:"format=topic,maxItems=20" doc:"Topics the repository must have."`
}

// Step is one command run in the checkout of a target repository.
type Step struct {
	Name    string            `yaml:"name" spec:"required,format=stepName" doc:"Step name, unique within the spec; shown in logs."`
	Image   string            `yaml:"image,omitempty" spec:"format=image" doc:"Container image for the Kubernetes runner, e.g. golang:1.26-alpine; empty means the runner's default image."`
	Run     string            `yaml:"run" spec:"required,maxLen=65536" doc:"Shell script run with sh -e in the repository root."`
	Env     map[string]string `yaml:"env,omitempty" spec:"format=envName" doc:"Extra environment variables; names must be identifiers and must not override reserved names."`
	Timeout Duration          `yaml:"timeout" spec:"min=1s,max=2h" doc:"Maximum run time of the step (Go duration, e.g. 10m)."`
}

// Changes restricts what a step may change.
type Changes struct {
	Allow []string `yaml:"allow,omitempty" spec:"format=pathGlob,maxItems=100" doc:"Path patterns (path.Match syntax; * does not cross /) a change may touch; a change outside them fails the task. Empty allows everything."`
}

// PullRequest describes the pull request opened in each target repository.
// Title, Body and CommitMessage are Go templates over TemplateData.
type PullRequest struct {
	Title         string   `yaml:"title" spec:"required,format=template,maxLen=256" doc:"Pull request title (template, one line)."`
	Body          string   `yaml:"body" spec:"format=template,maxLen=65536" doc:"Pull request body, Markdown (template)."`
	CommitMessage string   `yaml:"commitMessage" spec:"format=template,maxLen=65536" doc:"Commit message (template); defaults to the title."`
	Draft         bool     `yaml:"draft" doc:"Open pull requests as drafts."`
	Labels        []string `yaml:"labels,omitempty" spec:"format=label,unique,maxItems=20" doc:"Labels added to every pull request."`
	Reviewers     []string `yaml:"reviewers,omitempty" spec:"format=login,unique,maxItems=15" doc:"Users asked to review."`
	TeamReviewers []string `yaml:"teamReviewers,omitempty" spec:"format=team,unique,maxItems=15" doc:"Teams (org/team) asked to review; a team is requested only on repositories of its organisation."`
}

// Approval values.
const (
	ApprovalRequired = "required"
	ApprovalNone     = "none"
)

// Rollout controls approval and pace.
type Rollout struct {
	Approval           string  `yaml:"approval" spec:"enum=required|none" doc:"required: a run starts only after /campaign approve; none: it starts when the spec lands (if the app's config allows it)."`
	MaxOpenPRs         int     `yaml:"maxOpenPRs" spec:"min=1,max=10000" doc:"Never more open pull requests than this for the campaign."`
	PRsPerHour         int     `yaml:"prsPerHour" spec:"min=1,max=5000" doc:"Publishing rate limit for the campaign."`
	Waves              []Wave  `yaml:"waves" spec:"minItems=1,maxItems=20" doc:"Cumulative wave sizes: counts (5) then percentages (\"50%\"), strictly increasing; the next wave waits for the previous one's CI. A final 100% is implied."`
	PauseOnFailureRate float64 `yaml:"pauseOnFailureRate" spec:"exclusiveMin=0,max=1" doc:"Pause the run when this share of finished tasks has failed (0 < x <= 1)."`
}

// Drift policies.
const (
	BaseChangedRebase   = "rebase"
	BaseChangedIgnore   = "ignore"
	BaseChangedRecreate = "recreate"
	HumanEditsStop      = "stop"
	HumanEditsOverwrite = "overwrite"
)

// Drift says how open pull requests are kept current.
type Drift struct {
	BaseChanged string `yaml:"baseChanged" spec:"enum=rebase|ignore|recreate" doc:"rebase: re-run the steps on the new base and update the branch; ignore: leave it; recreate: only when the pull request conflicts, re-run the steps and rewrite the branch from scratch. At most once per base change, after a debounce."`
	HumanEdits  string `yaml:"humanEdits" spec:"enum=stop|overwrite" doc:"stop: a human commit on the branch stops automation for that pull request; overwrite: the app force-pushes its change over it (dangerous: the person's commit leaves the branch)."`
}

// Notify configures notifications.
type Notify struct {
	Slack string `yaml:"slack,omitempty" spec:"format=slack" doc:"Slack channel, \"#name\" or a channel ID like C0123ABCD."`
}

// File is one spec file of a control repository, for ValidateSet.
type File struct {
	Path string
	Data []byte
}
