-- +goose Up
-- The desk's «Новые назначения» are an assignee's open tasks not yet
-- seen (and made by someone else), newest change first. Through
-- tasks_assignee_open_cover_idx the desk walked all of a busy manager's
-- 4,500 open tasks to find the 200 unseen; this partial index holds only
-- the unseen ones, and what the desk reads of them.
CREATE INDEX tasks_assignee_unseen_idx ON tasks (assigned_to, updated_at, id)
    INCLUDE (created_by)
    WHERE status IN ('new', 'in_progress') AND NOT seen;

-- +goose Down
DROP INDEX tasks_assignee_unseen_idx;
