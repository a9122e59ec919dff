-- +goose Up
-- What each ChatOps command (a comment line, a button press) did, keyed by
-- where it came from: a replayed or retried delivery finds its receipt
-- and neither runs the command again nor answers twice.
CREATE TABLE chatops_receipts (
    key         TEXT PRIMARY KEY,                    -- e.g. issue_comment:<id>:<line>, issue_comment:<id>:reply
    ok          BOOLEAN NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Buttons of a run's dashboard arrive with the check run's id.
CREATE INDEX runs_check_run ON runs (check_run_id) WHERE check_run_id IS NOT NULL;

-- +goose Down
DROP INDEX runs_check_run;
DROP TABLE chatops_receipts;
