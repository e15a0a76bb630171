-- +goose Up
-- «Все доступные» and every list of open tasks without an assignee read
-- the open tasks in due order and stop after a page: this partial index
-- is that order. Through tasks_status_idx (status, due_at, id) the two
-- open statuses are two ranges, and the administrator's list sorted all
-- 300,000 open tasks to show fifty.
-- Who may see a task (assignee, author, company) and whether it is all
-- day are in the index too (SQLite has no INCLUDE: they end the key;
-- status so that it is taken as covering, see 00016): a manager's «все
-- доступные» passes over the 2,000 open tasks of others before its fifty.
CREATE INDEX tasks_open_due_idx ON tasks (due_at, id, status, assigned_to, created_by, company_id, all_day)
    WHERE status IN ('new', 'in_progress');

-- The desk's chart «Новые компании по месяцам» of a manager who sees
-- their own companies counts them by created_at: through
-- companies_responsible_idx every one of their companies was looked up
-- in the table; this index answers it alone (deleted_at ends the key so
-- that SQLite takes it as covering — see 00016).
CREATE INDEX companies_responsible_created_idx ON companies (responsible_id, created_at, deleted_at) WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX companies_responsible_created_idx;
DROP INDEX tasks_open_due_idx;
