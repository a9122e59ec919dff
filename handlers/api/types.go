package api

import (
	"time"

	"github.com/campaignbot/campaignbot/store"
)

// The JSON shapes of the API (docs/api/openapi.yaml). The CLI decodes
// these same types.

// Campaign is a campaign with its latest version and run.
type Campaign struct {
	Name          string     `json:"name"`
	ControlRepo   string     `json:"control_repo"`
	SpecPath      string     `json:"spec_path"`
	State         string     `json:"state"`
	CreatedAt     time.Time  `json:"created_at"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	LatestVersion int        `json:"latest_version"`
	LatestRun     *RunRef    `json:"latest_run,omitempty"`
}

// RunRef names a run.
type RunRef struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
}

// SpecVersion is one content of a campaign's spec; YAML only when one
// version is asked for.
type SpecVersion struct {
	Version     int       `json:"version"`
	ContentHash string    `json:"content_hash"`
	CommitSHA   string    `json:"commit_sha"`
	Author      string    `json:"author"`
	CreatedAt   time.Time `json:"created_at"`
	YAML        string    `json:"yaml,omitempty"`
}

// Run is one execution of a spec version, with its changesets counted by state.
type Run struct {
	ID             int64          `json:"id"`
	Campaign       string         `json:"campaign"`
	SpecVersion    int            `json:"spec_version"`
	State          string         `json:"state"`
	PausedReason   string         `json:"paused_reason,omitempty"`
	ControlSHA     string         `json:"control_sha"`
	InstallationID int64          `json:"installation_id"`
	CreatedAt      time.Time      `json:"created_at"`
	StartedAt      *time.Time     `json:"started_at,omitempty"`
	FinishedAt     *time.Time     `json:"finished_at,omitempty"`
	UpdatedAt      time.Time      `json:"updated_at"`
	Counts         map[string]int `json:"counts"`
	Total          int            `json:"total"`
}

// Changeset is one target repository of a run (a repo task).
type Changeset struct {
	ID         string    `json:"id"`
	RunID      int64     `json:"run_id"`
	Repository string    `json:"repository"`
	State      string    `json:"state"`
	Attempts   int       `json:"attempts"`
	Wave       int       `json:"wave"`
	BaseBranch string    `json:"base_branch,omitempty"`
	BaseSHA    string    `json:"base_sha,omitempty"`
	Branch     string    `json:"branch,omitempty"`
	PRNumber   int       `json:"pr_number,omitempty"`
	PRURL      string    `json:"pr_url,omitempty"`
	HeadSHA    string    `json:"head_sha,omitempty"`
	Error      string    `json:"error,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Logs are a changeset's logs: the tail kept with the task and, when the
// run stored one, the full logs artifact (GET .../logs/raw).
type Logs struct {
	TaskID       string        `json:"task_id"`
	Repository   string        `json:"repository"`
	State        string        `json:"state"`
	Error        string        `json:"error,omitempty"`
	LogTail      string        `json:"log_tail"`
	LogsArtifact *LogsArtifact `json:"logs_artifact,omitempty"`
}

// LogsArtifact describes the stored logs artifact.
type LogsArtifact struct {
	SizeBytes int64     `json:"size_bytes"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
	URL       string    `json:"url"`
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID        int64          `json:"id"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	Target    string         `json:"target"`
	Outcome   string         `json:"outcome"`
	Reason    string         `json:"reason,omitempty"`
	SourceURL string         `json:"source_url,omitempty"`
	Details   map[string]any `json:"details"`
	At        time.Time      `json:"at"`
}

// Token is an API token's metadata (never the token itself).
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// ActionRequest is the optional body of a run action.
type ActionRequest struct {
	Reason string `json:"reason,omitempty"`
	// Repository limits retry to one repository (owner/name).
	Repository string `json:"repository,omitempty"`
}

// ActionResult is what a run action did, with the run as it is now.
type ActionResult struct {
	Action     string `json:"action"`
	Changed    bool   `json:"changed"`
	Requeued   int    `json:"requeued,omitempty"`
	ClosingPRs int    `json:"closing_prs,omitempty"`
	Run        Run    `json:"run"`
}

func toCampaign(c store.CampaignSummary) Campaign {
	out := Campaign{Name: c.Name, ControlRepo: c.ControlRepo, SpecPath: c.SpecPath, State: c.State, CreatedAt: c.CreatedAt,
		ClosedAt: c.ClosedAt, LatestVersion: c.LatestVersion}
	if c.LatestRunID != 0 {
		out.LatestRun = &RunRef{ID: c.LatestRunID, State: c.LatestRunState}
	}
	return out
}

func toSpecVersion(v store.SpecVersion) SpecVersion {
	return SpecVersion{Version: v.Version, ContentHash: v.ContentHash, CommitSHA: v.CommitSHA, Author: v.Author, CreatedAt: v.CreatedAt, YAML: v.YAML}
}

func toRun(d store.RunDetail) Run {
	out := Run{ID: d.ID, Campaign: d.CampaignName, SpecVersion: d.SpecVersion, State: d.State, PausedReason: d.PausedReason,
		ControlSHA: d.ControlSHA, InstallationID: d.InstallationID, CreatedAt: d.CreatedAt, StartedAt: d.StartedAt,
		FinishedAt: d.FinishedAt, UpdatedAt: d.UpdatedAt, Counts: d.Counts}
	if out.Counts == nil {
		out.Counts = map[string]int{}
	}
	for _, n := range out.Counts {
		out.Total += n
	}
	return out
}

func toChangeset(t store.RepoTask) Changeset {
	return Changeset{ID: t.ID.String(), RunID: t.RunID, Repository: t.Repository, State: t.State, Attempts: t.Attempts, Wave: t.Wave,
		BaseBranch: t.BaseBranch, BaseSHA: t.BaseSHA, Branch: t.Branch, PRNumber: t.PRNumber, PRURL: t.PRURL, HeadSHA: t.HeadSHA,
		Error: t.Error, UpdatedAt: t.UpdatedAt}
}

func toAudit(e store.AuditEntry) AuditEntry {
	d := e.Details
	if d == nil {
		d = map[string]any{}
	}
	return AuditEntry{ID: e.ID, Actor: e.Actor, Action: e.Action, Target: e.Target, Outcome: e.Outcome, Reason: e.Reason,
		SourceURL: e.SourceURL, Details: d, At: e.At}
}

func toToken(t store.APIToken) Token {
	return Token{ID: t.ID, Name: t.Name, Scope: t.Scope, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
}
