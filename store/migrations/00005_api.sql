-- +goose Up
-- The REST API's reads (handlers/api, store/api.go). api_tokens itself is in 00001.

-- Changesets of a run filtered by state, paged by repository (keyset).
CREATE INDEX repo_tasks_run_state_repository ON repo_tasks (run_id, state, repository);

-- The audit log of one campaign, newest first: actions record the campaign
-- name in details.campaign.
CREATE INDEX audit_log_campaign ON audit_log ((details->>'campaign'), id DESC);

-- The audit log names API actors api:<token name>: a name is unique among
-- active tokens.
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- +goose Down
DROP INDEX api_tokens_active_name;
DROP INDEX audit_log_campaign;
DROP INDEX repo_tasks_run_state_repository;
