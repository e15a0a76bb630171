-- +goose Up
-- Notifications: one row per message to one user. actor_id is who caused
-- it (NULL: the system); dedup_key, when not empty, makes a notification
-- "exactly once" per user (task.due:<id>:<due unix>).
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    object_type TEXT NOT NULL DEFAULT '',
    object_id   BIGINT,
    dedup_key   TEXT NOT NULL DEFAULT '',
    is_read     BOOLEAN NOT NULL DEFAULT FALSE,
    read_at     DATETIME,
    created_at  DATETIME NOT NULL
);
-- The list and the bell: a user's newest first.
CREATE INDEX notifications_user_idx ON notifications (user_id, id);
-- The unread count of every page's header.
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE NOT is_read;
CREATE UNIQUE INDEX notifications_dedup_key ON notifications (user_id, dedup_key) WHERE dedup_key <> '';
-- The purge of read notifications.
CREATE INDEX notifications_read_at_idx ON notifications (read_at) WHERE is_read;

-- The live events outbox: written in the transaction of the change that
-- raises an event, so an event exists only if its change committed. Its
-- id is the event's id in the stream (Last-Event-ID). SQLite serves one
-- process, whose hub reads new rows after each commit. AUTOINCREMENT: an
-- id is never reused after the purge, so a page's Last-Event-ID stays
-- meaningful.
CREATE TABLE live_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX live_events_user_idx ON live_events (user_id, id);
CREATE INDEX live_events_created_idx ON live_events (created_at);

-- +goose Down
DROP TABLE live_events;
DROP TABLE notifications;
