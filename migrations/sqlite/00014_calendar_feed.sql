-- +goose Up
-- A user's private calendar feed: only the SHA-256 of the token in the
-- feed's URL is kept, so a copy of the database does not give the feeds
-- away. One row per user; enabling again replaces the token, so the old
-- URL stops working.
CREATE TABLE calendar_feeds (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX calendar_feeds_token_key ON calendar_feeds (token_hash);

-- The River jobs scheduled for a task (its due-time notification, its
-- "still not seen" reminder): kept so that rescheduling, completing or
-- deleting the task cancels the job in the same transaction. The worker
-- also checks the task again when it runs, so a job whose cancel was
-- missed does nothing. No foreign key: the task's own migration is
-- another's, and the rows are removed with the task by the code that
-- deletes it.
CREATE TABLE task_timers (
    task_id BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    job_id  BIGINT NOT NULL,
    PRIMARY KEY (task_id, kind)
);

-- +goose Down
DROP TABLE task_timers;
DROP TABLE calendar_feeds;
