-- +goose Up
-- The reconciler's view of each campaign pull request (changeset), kept on
-- its repo task: what GitHub last said about it, the drift and human-edit
-- bookkeeping, and the verification pass.
ALTER TABLE repo_tasks
    ADD COLUMN pr_state          TEXT,        -- open | draft | merged | closed, as GitHub last said
    ADD COLUMN review_decision   TEXT,        -- approved | changes_requested | review_required | '' (none)
    ADD COLUMN ci_state          TEXT,        -- pending | passing | failing | '' (no checks)
    ADD COLUMN mergeable         TEXT,        -- mergeable | conflicting | unknown
    ADD COLUMN pr_updated_at     TIMESTAMPTZ, -- GitHub's updatedAt of the state applied: older events are ignored
    ADD COLUMN pr_checked_at     TIMESTAMPTZ, -- when the state was last applied (webhook or sweep)
    ADD COLUMN closed_by         TEXT,
    ADD COLUMN branch_deleted    BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN base_head_sha     TEXT,        -- the base branch head last seen (push to the base)
    ADD COLUMN base_moved_at     TIMESTAMPTZ, -- when it last moved: drift waits for quiet (debounce)
    ADD COLUMN drift_handled_sha TEXT,        -- the base head a drift decision was made for: one per base change
    ADD COLUMN rebase_count      INT NOT NULL DEFAULT 0,
    ADD COLUMN human_edited_sha  TEXT,        -- a commit the app did not make; with humanEdits: stop, automation stops
    ADD COLUMN human_noticed_at  TIMESTAMPTZ, -- the one PR comment saying so was posted
    ADD COLUMN landed            BOOLEAN,     -- verification: true = the steps change nothing on the default branch
    ADD COLUMN verify_note       TEXT,
    ADD COLUMN verified_at       TIMESTAMPTZ;

CREATE INDEX repo_tasks_open_prs ON repo_tasks (pr_checked_at NULLS FIRST) WHERE state = 'published';
CREATE INDEX repo_tasks_pr ON repo_tasks (lower(repository), pr_number) WHERE pr_number IS NOT NULL;

ALTER TABLE runs
    ADD COLUMN verify_started_at TIMESTAMPTZ,
    ADD COLUMN verified_at       TIMESTAMPTZ;

-- +goose Down
ALTER TABLE runs DROP COLUMN verified_at, DROP COLUMN verify_started_at;
DROP INDEX repo_tasks_pr;
DROP INDEX repo_tasks_open_prs;
ALTER TABLE repo_tasks
    DROP COLUMN verified_at, DROP COLUMN verify_note, DROP COLUMN landed,
    DROP COLUMN human_noticed_at, DROP COLUMN human_edited_sha, DROP COLUMN rebase_count,
    DROP COLUMN drift_handled_sha, DROP COLUMN base_moved_at, DROP COLUMN base_head_sha,
    DROP COLUMN branch_deleted, DROP COLUMN closed_by, DROP COLUMN pr_checked_at, DROP COLUMN pr_updated_at,
    DROP COLUMN mergeable, DROP COLUMN ci_state, DROP COLUMN review_decision, DROP COLUMN pr_state;
