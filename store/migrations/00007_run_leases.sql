-- +goose Up
-- Short leases that serialise one kind of work on a run (its dashboard
-- update, its Slack message) across workers. They replace session advisory
-- locks, which pinned a pooled connection for as long as the holder spent
-- talking to GitHub or Slack; a lease holds no connection and expires by
-- itself when its holder dies.
CREATE TABLE run_leases (
    run_id      BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,                        -- dashboard, slack
    holder      UUID NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, purpose)
);

-- +goose Down
DROP TABLE run_leases;
