-- +goose Up
-- The tables of DESIGN.md §7. PostgreSQL is the source of truth; Redis is transport.

CREATE TABLE installations (
    id                    BIGINT PRIMARY KEY,          -- GitHub installation id
    account_login         TEXT NOT NULL,
    account_type          TEXT NOT NULL,               -- Organization | User
    account_id            BIGINT NOT NULL,
    repository_selection  TEXT NOT NULL DEFAULT 'selected', -- all | selected
    permissions           JSONB NOT NULL DEFAULT '{}'::jsonb,
    events                TEXT[] NOT NULL DEFAULT '{}',
    suspended_at          TIMESTAMPTZ,
    deleted_at            TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE installation_repositories (
    installation_id  BIGINT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
    repository_id    BIGINT NOT NULL,
    full_name        TEXT NOT NULL,
    private          BOOLEAN NOT NULL DEFAULT false,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (installation_id, repository_id)
);
CREATE INDEX installation_repositories_full_name ON installation_repositories (lower(full_name));

CREATE TABLE campaigns (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT NOT NULL,
    control_repo     TEXT NOT NULL,                   -- owner/name
    spec_path        TEXT NOT NULL,                   -- file in the control repo
    state            TEXT NOT NULL DEFAULT 'active',  -- active | closed
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_at        TIMESTAMPTZ,
    UNIQUE (control_repo, name)
);

CREATE TABLE spec_versions (
    id            BIGSERIAL PRIMARY KEY,
    campaign_id   BIGINT NOT NULL REFERENCES campaigns(id),
    version       INT NOT NULL,
    yaml          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    commit_sha    TEXT NOT NULL,
    author        TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, version)          -- a revert to earlier content is a new version
);

-- The last state of each control repository's spec folder that was synced.
CREATE TABLE control_repo_syncs (
    control_repo  TEXT PRIMARY KEY,
    commit_sha    TEXT NOT NULL,
    synced_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE approvals (
    id            BIGSERIAL PRIMARY KEY,
    control_repo  TEXT NOT NULL,
    campaign_name TEXT NOT NULL,
    content_hash  TEXT NOT NULL,                     -- the exact spec content approved
    approver      TEXT NOT NULL,
    pr_number     INT,
    source_url    TEXT NOT NULL DEFAULT '',
    voided_at     TIMESTAMPTZ,
    void_reason   TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX approvals_lookup ON approvals (control_repo, campaign_name, content_hash) WHERE voided_at IS NULL;

CREATE TABLE runs (
    id               BIGSERIAL PRIMARY KEY,
    campaign_id      BIGINT NOT NULL REFERENCES campaigns(id),
    spec_version_id  BIGINT NOT NULL REFERENCES spec_versions(id),
    state            TEXT NOT NULL,   -- planned|awaiting_approval|running|paused|completed|cancelled|failed
    installation_id  BIGINT,
    control_sha      TEXT NOT NULL DEFAULT '',
    check_run_id     BIGINT,                         -- the dashboard check run on control_sha
    dashboard_hash   TEXT,                           -- hash of the last dashboard sent: unchanged -> no request
    paused_reason    TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (spec_version_id)               -- one run per spec version: a repeated start is a no-op
);
CREATE INDEX runs_campaign ON runs (campaign_id, id DESC);

CREATE TABLE repo_tasks (
    id               UUID PRIMARY KEY,
    run_id           BIGINT NOT NULL REFERENCES runs(id),
    repository       TEXT NOT NULL,                  -- owner/name
    repository_id    BIGINT,
    state            TEXT NOT NULL,                  -- pending|queued|running|no_changes|patch_ready|publishing|published|merged|closed|failed|skipped|superseded
    attempts         INT NOT NULL DEFAULT 0,
    dedupe_key       TEXT NOT NULL UNIQUE,
    wave             INT NOT NULL DEFAULT 0,
    branch           TEXT,
    pr_number        INT,
    pr_url           TEXT,
    pr_node_id       TEXT,
    head_sha         TEXT,
    base_branch      TEXT,
    base_sha         TEXT,                           -- the commit the change is made on
    patch_hash       TEXT,
    last_pushed_sha  TEXT,
    error            TEXT,
    log_tail         TEXT,
    result_key       TEXT,                           -- artifact holding the change (patch_ready)
    lease_until      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (run_id, repository)
);
CREATE INDEX repo_tasks_run_state ON repo_tasks (run_id, state);
CREATE INDEX repo_tasks_in_flight ON repo_tasks (updated_at) WHERE state IN ('queued', 'running', 'patch_ready', 'publishing');

CREATE TABLE artifacts (
    id           BIGSERIAL PRIMARY KEY,
    task_id      UUID NOT NULL REFERENCES repo_tasks(id),
    kind         TEXT NOT NULL,                      -- patch | logs | result
    sha256       TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    storage_key  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX artifacts_task ON artifacts (task_id);

-- One row per GitHub delivery; the delivery id makes redeliveries and
-- replays no-ops. state: pending (stored, being enqueued) -> processing -> processed | failed.
CREATE TABLE webhook_deliveries (
    delivery_id      TEXT PRIMARY KEY,
    event            TEXT NOT NULL,
    action           TEXT NOT NULL DEFAULT '',
    installation_id  BIGINT,
    repository       TEXT NOT NULL DEFAULT '',
    payload          BYTEA COMPRESSION lz4 NOT NULL, -- the exact bytes GitHub signed; lz4 is several times cheaper than pglz
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INT NOT NULL DEFAULT 0,
    last_error       TEXT,
    received_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at     TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_unfinished ON webhook_deliveries (received_at) WHERE state IN ('pending', 'processing');

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,                       -- accepted | refused | error
    reason      TEXT NOT NULL DEFAULT '',
    source_url  TEXT NOT NULL DEFAULT '',
    details     JSONB NOT NULL DEFAULT '{}'::jsonb,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_target ON audit_log (target, at DESC);

CREATE TABLE selection_cache (
    cache_key   TEXT PRIMARY KEY,                    -- hash of installation + targets
    result      JSONB NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,               -- sha256 of the token; the token itself is never stored
    scope        TEXT NOT NULL,                      -- read | write
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE selection_cache;
DROP TABLE audit_log;
DROP TABLE webhook_deliveries;
DROP TABLE artifacts;
DROP TABLE repo_tasks;
DROP TABLE runs;
DROP TABLE approvals;
DROP TABLE control_repo_syncs;
DROP TABLE spec_versions;
DROP TABLE campaigns;
DROP TABLE installation_repositories;
DROP TABLE installations;
