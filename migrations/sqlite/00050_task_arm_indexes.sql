-- +goose Up
-- «Все доступные» of a manager or a branch director reads each arm of
-- their visibility (access.TaskArms) apart — the open tasks they made,
-- those of the companies they see — in due order, and counts each up to
-- a bound. tasks_created_by_idx (created_by, status, due_at) holds
-- neither the order nor the columns the list tests, so the made arm was
-- read from the table. These two answer each arm from the index alone,
-- in order (SQLite has no INCLUDE: the columns the list's filters test
-- end the key; status so that it is taken as covering, see 00016).
CREATE INDEX tasks_created_open_idx ON tasks (created_by, due_at, id, status, company_id, all_day)
    WHERE status IN ('new', 'in_progress');
CREATE INDEX tasks_company_open_idx ON tasks (company_id, due_at, id, status, all_day)
    WHERE status IN ('new', 'in_progress') AND company_id IS NOT NULL;

-- +goose Down
DROP INDEX tasks_company_open_idx;
DROP INDEX tasks_created_open_idx;
