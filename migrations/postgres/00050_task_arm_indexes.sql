-- +goose Up
-- «Все доступные» of a manager or a branch director reads each arm of
-- their visibility (access.TaskArms) apart — the open tasks they made,
-- those of the companies they see — in due order, and counts each up to
-- a bound. tasks_created_by_idx (created_by, status, due_at) holds
-- neither the order nor the id, so the made arm was a bitmap read of the
-- table (a busy manager's 4,000 open tasks: one heap page each), and the
-- company arm hashed every open task of the base against the companies
-- seen. These two answer each arm from the index alone, in order; the
-- included columns are what the list's filters test (company, state).
CREATE INDEX tasks_created_open_idx ON tasks (created_by, due_at, id)
    INCLUDE (company_id, all_day)
    WHERE status IN ('new', 'in_progress');
CREATE INDEX tasks_company_open_idx ON tasks (company_id, due_at, id)
    INCLUDE (all_day)
    WHERE status IN ('new', 'in_progress') AND company_id IS NOT NULL;

-- +goose Down
DROP INDEX tasks_company_open_idx;
DROP INDEX tasks_created_open_idx;
