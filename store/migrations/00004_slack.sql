-- +goose Up
-- Slack: one message per run and channel (updated in place), the thread
-- notices already posted under it (each exactly once), and the links from
-- Slack users to GitHub logins that ChatOps from Slack authorises with.

CREATE TABLE slack_messages (
    run_id      BIGINT NOT NULL REFERENCES runs(id),
    channel     TEXT NOT NULL,                      -- as configured: "#name" or a channel id
    channel_id  TEXT NOT NULL DEFAULT '',           -- the id Slack answered with (chat.update needs it)
    ts          TEXT NOT NULL,                      -- the message's timestamp: its id in the channel
    hash        TEXT NOT NULL DEFAULT '',           -- hash of what it last showed: unchanged -> no chat.update
    run_state   TEXT NOT NULL DEFAULT '',           -- run state last seen: transitions post thread notices
    frozen      BOOLEAN NOT NULL DEFAULT false,     -- kill switch as last seen
    updates     INT NOT NULL DEFAULT 0,             -- chat.update calls made (operators' figure)
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, channel)
);

CREATE TABLE slack_notices (
    run_id     BIGINT NOT NULL REFERENCES runs(id),
    channel    TEXT NOT NULL,
    notice     TEXT NOT NULL,                       -- e.g. approval, paused:2, wave_failing:0, completed
    ts         TEXT NOT NULL DEFAULT '',
    posted_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, channel, notice)
);

CREATE TABLE slack_user_links (
    slack_user_id  TEXT PRIMARY KEY,                -- e.g. U012AB3CD (team-scoped ids)
    github_login   TEXT NOT NULL,
    source         TEXT NOT NULL,                   -- how it was proved: github-comment
    linked_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE slack_link_requests (
    code_hash      TEXT PRIMARY KEY,                -- sha256 of the one-time code; the code is never stored
    slack_user_id  TEXT NOT NULL,
    github_login   TEXT NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX slack_link_requests_user ON slack_link_requests (slack_user_id);

-- +goose Down
DROP TABLE slack_link_requests;
DROP TABLE slack_user_links;
DROP TABLE slack_notices;
DROP TABLE slack_messages;
