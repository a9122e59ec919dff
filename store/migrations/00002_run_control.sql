-- +goose Up
-- Run control (pause/resume/cancel/retry, waves, the kill switch flag,
-- exclusions and snoozes): DESIGN.md §5 and §10.

-- Process-wide switches kept in the database so every worker sees them:
-- publishing_frozen is the kill switch ChatOps /campaign freeze sets.
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       JSONB NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT '',
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Repositories a campaign must leave alone (/campaign skip by the target's
-- maintainers): later spec versions do not target them.
CREATE TABLE campaign_exclusions (
    campaign_id  BIGINT NOT NULL REFERENCES campaigns(id),
    repository   TEXT NOT NULL,                      -- owner/name, lower case
    reason       TEXT NOT NULL DEFAULT '',
    excluded_by  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, repository)
);

ALTER TABLE runs
    ADD COLUMN current_wave     INT NOT NULL DEFAULT 0,   -- tasks of later waves wait in 'pending'
    ADD COLUMN throttled_until  TIMESTAMPTZ,              -- last publish throttle, for the dashboard
    ADD COLUMN throttle_reason  TEXT,
    ADD COLUMN failures_acked   INT NOT NULL DEFAULT 0;   -- failed tasks when last resumed: pauseOnFailureRate counts new ones

ALTER TABLE repo_tasks
    ADD COLUMN snoozed_until TIMESTAMPTZ;                 -- /campaign snooze: no updates to the PR until then

-- +goose Down
ALTER TABLE repo_tasks DROP COLUMN snoozed_until;
ALTER TABLE runs DROP COLUMN current_wave, DROP COLUMN throttled_until, DROP COLUMN throttle_reason, DROP COLUMN failures_acked;
DROP TABLE campaign_exclusions;
DROP TABLE settings;
