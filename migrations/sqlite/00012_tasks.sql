-- +goose Up
-- Task types get an icon (a symbol of the sprite) and a colour for lists
-- and the desk.
ALTER TABLE task_types ADD COLUMN icon TEXT NOT NULL DEFAULT 'tasks';
ALTER TABLE task_types ADD COLUMN color TEXT NOT NULL DEFAULT '#01948E';

-- Tasks. due_at is UTC to the microsecond; an all-day task keeps its date
-- at 00:00 UTC (a floating date, the same day in every time zone).
-- company_id and contact_id are SET NULL: companies and contacts are
-- soft-deleted (deleted_at) and restored, so the link survives the trash;
-- only a hard delete, which nothing in the product does yet, would leave
-- the task as the assignee's own. series_id is the id of the first task of
-- a recurring series, a grouping key rather than a reference (the first
-- task may be deleted while the series goes on), and (series_id,
-- occurrence) is unique: the next occurrence exists exactly once.
CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    title_norm       TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    type_id          BIGINT REFERENCES task_types (id) ON DELETE SET NULL,
    status           TEXT NOT NULL DEFAULT 'new',
    due_at           DATETIME NOT NULL,
    all_day          BOOLEAN NOT NULL DEFAULT FALSE,
    is_urgent        BOOLEAN NOT NULL DEFAULT FALSE,
    created_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    assigned_to      BIGINT NOT NULL REFERENCES users (id),
    company_id       BIGINT REFERENCES companies (id) ON DELETE SET NULL,
    contact_id       BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
    recurrence_rrule TEXT NOT NULL DEFAULT '',
    series_id        BIGINT,
    series_start     DATETIME,
    occurrence       INTEGER NOT NULL DEFAULT 1,
    result           TEXT NOT NULL DEFAULT '',
    completed_at     DATETIME,
    seen             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    CHECK (status IN ('new', 'in_progress', 'done', 'cancelled'))
);
CREATE UNIQUE INDEX tasks_series_occurrence_key ON tasks (series_id, occurrence);
-- The desk: an assignee's open tasks by due time.
CREATE INDEX tasks_assignee_open_idx ON tasks (assigned_to, due_at, id) WHERE status IN ('new', 'in_progress');
CREATE INDEX tasks_assignee_idx ON tasks (assigned_to, status, due_at);
CREATE INDEX tasks_company_idx ON tasks (company_id, status, due_at) WHERE company_id IS NOT NULL;
CREATE INDEX tasks_contact_idx ON tasks (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX tasks_created_by_idx ON tasks (created_by, status, due_at);
CREATE INDEX tasks_status_idx ON tasks (status, due_at, id);

CREATE TABLE task_comments (
    id         INTEGER PRIMARY KEY,
    task_id    BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    text       TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX task_comments_task_idx ON task_comments (task_id, created_at, id);

-- Who changed which field of a task, when. actor_id is NULL for the system
-- actor (actor_system, actor_name naming the job) or a deleted user.
CREATE TABLE task_history (
    id           INTEGER PRIMARY KEY,
    task_id      BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    actor_id     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor_name   TEXT NOT NULL DEFAULT '',
    actor_system BOOLEAN NOT NULL DEFAULT FALSE,
    at           DATETIME NOT NULL,
    field        TEXT NOT NULL,
    old          TEXT NOT NULL DEFAULT '',
    new          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX task_history_task_idx ON task_history (task_id, at, id);

-- +goose Down
DROP TABLE task_history;
DROP TABLE task_comments;
DROP TABLE tasks;
ALTER TABLE task_types DROP COLUMN color;
ALTER TABLE task_types DROP COLUMN icon;
