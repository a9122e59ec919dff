package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The REST API's queries (handlers/api). Lists are keyset-paginated: each
// takes the last key of the previous page and a limit, so a page costs the
// same however deep it is and rows written meanwhile never shift pages.

// API token scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// APIToken is a REST API credential; only the SHA-256 of the token is stored.
type APIToken struct {
	ID         int64
	Name       string
	Scope      string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

const apiTokenCols = `id, name, scope, created_by, created_at, last_used_at, revoked_at`

func scanAPIToken(r pgx.Row) (APIToken, error) {
	var t APIToken
	err := r.Scan(&t.ID, &t.Name, &t.Scope, &t.CreatedBy, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
	return t, err
}

// ErrTokenNameTaken: an active token already has the name. Names are
// unique among active tokens because the audit log names actors by them.
var ErrTokenNameTaken = errors.New("an active API token already has this name")

// CreateAPIToken stores a token by its hash.
func (s *Store) CreateAPIToken(ctx context.Context, t APIToken, tokenHash string) (APIToken, error) {
	out, err := scanAPIToken(s.pool.QueryRow(ctx, `
INSERT INTO api_tokens (name, token_hash, scope, created_by)
SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM api_tokens WHERE name = $1 AND revoked_at IS NULL)
RETURNING `+apiTokenCols, t.Name, tokenHash, t.Scope, t.CreatedBy))
	if errors.Is(err, pgx.ErrNoRows) || IsUniqueViolation(err) {
		return out, fmt.Errorf("create API token %s: %w", t.Name, ErrTokenNameTaken)
	}
	if err != nil {
		return out, fmt.Errorf("create API token %s: %w", t.Name, err)
	}
	return out, nil
}

// AuthenticateAPIToken finds the token with this hash (revoked ones too:
// the caller refuses them) and records its use. The write happens at most
// once per touchEvery per token, in the same statement, so a busy client
// does not turn every read into a row update.
func (s *Store) AuthenticateAPIToken(ctx context.Context, tokenHash string, touchEvery time.Duration) (APIToken, bool, error) {
	t, err := scanAPIToken(s.pool.QueryRow(ctx, `
WITH t AS (SELECT `+apiTokenCols+` FROM api_tokens WHERE token_hash = $1),
u AS (UPDATE api_tokens SET last_used_at = now()
      WHERE id = (SELECT id FROM t WHERE revoked_at IS NULL
                  AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2)))
      RETURNING last_used_at)
SELECT id, name, scope, created_by, created_at, COALESCE((SELECT last_used_at FROM u), last_used_at), revoked_at FROM t`, tokenHash, touchEvery.Seconds()))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("look up API token: %w", err)
	}
	return t, true, nil
}

// APITokens lists tokens by id after afterID.
func (s *Store) APITokens(ctx context.Context, afterID int64, limit int) ([]APIToken, error) {
	return queryRows(ctx, s.pool, "list API tokens", scanAPIToken, `SELECT `+apiTokenCols+` FROM api_tokens WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
}

// RevokeAPIToken revokes a token (revoking twice keeps the first time);
// ok is false when there is no such token.
func (s *Store) RevokeAPIToken(ctx context.Context, id int64) (APIToken, bool, error) {
	t, err := scanAPIToken(s.pool.QueryRow(ctx, `
UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING `+apiTokenCols, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("revoke API token %d: %w", id, err)
	}
	return t, true, nil
}

// CampaignSummary is a campaign with its latest version and run.
type CampaignSummary struct {
	Campaign
	LatestVersion  int    // 0: none
	LatestRunID    int64  // 0: never ran
	LatestRunState string // "" when never ran
}

const campaignSummarySelect = `
SELECT c.id, c.name, c.control_repo, c.spec_path, c.state, c.created_at, c.closed_at,
       COALESCE((SELECT max(version) FROM spec_versions v WHERE v.campaign_id = c.id), 0),
       COALESCE(lr.id, 0), COALESCE(lr.state, '')
FROM campaigns c
LEFT JOIN LATERAL (SELECT id, state FROM runs r WHERE r.campaign_id = c.id ORDER BY r.id DESC LIMIT 1) lr ON true`

func scanCampaignSummary(r pgx.Row) (CampaignSummary, error) {
	var c CampaignSummary
	err := r.Scan(&c.ID, &c.Name, &c.ControlRepo, &c.SpecPath, &c.State, &c.CreatedAt, &c.ClosedAt,
		&c.LatestVersion, &c.LatestRunID, &c.LatestRunState)
	return c, err
}

// APICampaigns lists a control repository's campaigns ("" for every
// control repository) by name after afterName.
func (s *Store) APICampaigns(ctx context.Context, controlRepo, afterName string, limit int) ([]CampaignSummary, error) {
	return queryRows(ctx, s.pool, "list campaigns", scanCampaignSummary, campaignSummarySelect+`
WHERE ($1 = '' OR c.control_repo = $1) AND c.name > $2 ORDER BY c.name, c.id LIMIT $3`, controlRepo, afterName, limit)
}

// APICampaign reads one campaign by name; ok is false when there is none.
// With controlRepo "" a name held by several control repositories picks
// the newest campaign.
func (s *Store) APICampaign(ctx context.Context, controlRepo, name string) (CampaignSummary, bool, error) {
	c, err := scanCampaignSummary(s.pool.QueryRow(ctx, campaignSummarySelect+`
WHERE ($1 = '' OR c.control_repo = $1) AND c.name = $2 ORDER BY c.id DESC LIMIT 1`, controlRepo, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read campaign %s: %w", name, err)
	}
	return c, true, nil
}

// APISpecVersions lists a campaign's versions below beforeVersion (0: from
// the newest), newest first, without their YAML.
func (s *Store) APISpecVersions(ctx context.Context, campaignID int64, beforeVersion, limit int) ([]SpecVersion, error) {
	rows, err := s.pool.Query(ctx, `
SELECT id, campaign_id, version, content_hash, commit_sha, author, created_at FROM spec_versions
WHERE campaign_id = $1 AND ($2 = 0 OR version < $2) ORDER BY version DESC LIMIT $3`, campaignID, beforeVersion, limit)
	if err != nil {
		return nil, fmt.Errorf("list spec versions of campaign %d: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SpecVersion, error) {
		var v SpecVersion
		err := r.Scan(&v.ID, &v.CampaignID, &v.Version, &v.ContentHash, &v.CommitSHA, &v.Author, &v.CreatedAt)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("list spec versions of campaign %d: %w", campaignID, err)
	}
	return out, nil
}

// APISpecVersion reads one version with its YAML; ok is false when there is none.
func (s *Store) APISpecVersion(ctx context.Context, campaignID int64, version int) (SpecVersion, bool, error) {
	var v SpecVersion
	err := s.pool.QueryRow(ctx, `
SELECT id, campaign_id, version, yaml, content_hash, commit_sha, author, created_at FROM spec_versions
WHERE campaign_id = $1 AND version = $2`, campaignID, version).
		Scan(&v.ID, &v.CampaignID, &v.Version, &v.YAML, &v.ContentHash, &v.CommitSHA, &v.Author, &v.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("read version %d of campaign %d: %w", version, campaignID, err)
	}
	return v, true, nil
}

// RunDetail is a run with its campaign, version and task counts by state.
type RunDetail struct {
	Run
	CampaignName string
	ControlRepo  string
	SpecVersion  int
	PausedReason string
	StartedAt    *time.Time
	FinishedAt   *time.Time
	UpdatedAt    time.Time
	// Counts is the number of repo tasks in each state.
	Counts map[string]int
}

const runDetailSelect = `
SELECT r.id, r.campaign_id, r.spec_version_id, r.state, COALESCE(r.installation_id, 0), r.control_sha, r.created_at,
       c.name, c.control_repo, v.version, COALESCE(r.paused_reason, ''), r.started_at, r.finished_at, r.updated_at,
       COALESCE((SELECT jsonb_object_agg(state, n) FROM (SELECT state, count(*) AS n FROM repo_tasks t
                 WHERE t.run_id = r.id GROUP BY state) x), '{}'::jsonb)
FROM runs r JOIN campaigns c ON c.id = r.campaign_id JOIN spec_versions v ON v.id = r.spec_version_id`

func scanRunDetail(r pgx.Row) (RunDetail, error) {
	var d RunDetail
	var counts []byte
	err := r.Scan(&d.ID, &d.CampaignID, &d.SpecVersionID, &d.State, &d.InstallationID, &d.ControlSHA, &d.CreatedAt,
		&d.CampaignName, &d.ControlRepo, &d.SpecVersion, &d.PausedReason, &d.StartedAt, &d.FinishedAt, &d.UpdatedAt, &counts)
	if err != nil {
		return d, err
	}
	d.Counts = map[string]int{}
	if err := json.Unmarshal(counts, &d.Counts); err != nil {
		return d, fmt.Errorf("decode task counts: %w", err)
	}
	return d, nil
}

// APIRuns lists a campaign's runs with id below beforeID (0: from the
// newest), newest first.
func (s *Store) APIRuns(ctx context.Context, campaignID, beforeID int64, limit int) ([]RunDetail, error) {
	return queryRows(ctx, s.pool, fmt.Sprintf("list runs of campaign %d", campaignID), scanRunDetail, runDetailSelect+`
WHERE r.campaign_id = $1 AND ($2 = 0 OR r.id < $2) ORDER BY r.id DESC LIMIT $3`, campaignID, beforeID, limit)
}

// APIRun reads one run; ok is false when there is none.
func (s *Store) APIRun(ctx context.Context, runID int64) (RunDetail, bool, error) {
	d, err := scanRunDetail(s.pool.QueryRow(ctx, runDetailSelect+` WHERE r.id = $1`, runID))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("read run %d: %w", runID, err)
	}
	return d, true, nil
}

// TaskFilter selects repo tasks of a run.
type TaskFilter struct {
	RunID  int64
	States []string // any of these; empty: every state
	// Repository matches owner/name case-insensitively; * matches any run
	// of characters ("octo-org/api-*").
	Repository string
	// AfterRepository is the last repository of the previous page.
	AfterRepository string
}

// APITasks lists a run's repo tasks by repository.
func (s *Store) APITasks(ctx context.Context, f TaskFilter, limit int) ([]RepoTask, error) {
	pattern := ""
	if f.Repository != "" {
		r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(f.Repository))
		pattern = strings.ReplaceAll(r, "*", "%")
	}
	states := f.States
	if states == nil {
		states = []string{}
	}
	return queryRows(ctx, s.pool, fmt.Sprintf("list tasks of run %d", f.RunID), scanRepoTask, `SELECT `+repoTaskCols+` FROM repo_tasks
WHERE run_id = $1 AND (cardinality($2::text[]) = 0 OR state = ANY($2)) AND ($3 = '' OR lower(repository) LIKE $3)
  AND repository > $4
ORDER BY repository LIMIT $5`, f.RunID, states, pattern, f.AfterRepository, limit)
}

// APITask reads one repo task; ok is false when there is none.
func (s *Store) APITask(ctx context.Context, id uuid.UUID) (RepoTask, bool, error) {
	t, err := scanRepoTask(s.pool.QueryRow(ctx, `SELECT `+repoTaskCols+` FROM repo_tasks WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("read repo task %s: %w", id, err)
	}
	return t, true, nil
}

// AuditFilter selects audit log entries.
type AuditFilter struct {
	// Campaign matches entries whose details name the campaign.
	Campaign string
	Actor    string
	// BeforeID is the last id of the previous page (0: from the newest).
	BeforeID int64
}

// APIAudit lists audit entries, newest first.
func (s *Store) APIAudit(ctx context.Context, f AuditFilter, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `
SELECT id, actor, action, target, outcome, reason, source_url, details, at FROM audit_log
WHERE ($1 = '' OR details->>'campaign' = $1) AND ($2 = '' OR actor = $2) AND ($3 = 0 OR id < $3)
ORDER BY id DESC LIMIT $4`, f.Campaign, f.Actor, f.BeforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var details []byte
		if err := r.Scan(&e.ID, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Reason, &e.SourceURL, &details, &e.At); err != nil {
			return e, err
		}
		return e, json.Unmarshal(details, &e.Details)
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// InstallationForRepo finds the live installation that can access a
// repository, from the synced installation repositories; ok is false when
// none is known.
func (s *Store) InstallationForRepo(ctx context.Context, fullName string) (int64, bool, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `
SELECT ir.installation_id FROM installation_repositories ir JOIN installations i ON i.id = ir.installation_id
WHERE lower(ir.full_name) = lower($1) AND i.deleted_at IS NULL AND i.suspended_at IS NULL
ORDER BY ir.updated_at DESC LIMIT 1`, fullName).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("find the installation of %s: %w", fullName, err)
	}
	return id, true, nil
}
