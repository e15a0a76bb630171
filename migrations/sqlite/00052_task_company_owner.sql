-- +goose Up
-- «Все доступные» of a manager or a branch director reads the arm «tasks
-- of the companies I may see» (access.TaskArms) in due order. Asked
-- through companies — company_id IN (the scope's companies) — it sought
-- tasks_company_open_idx once per visible company and sorted what it
-- found: at a million companies a manager has 5,000 of them, a branch
-- director a fifth of the base, and the list cost 17–27 ms for the
-- manager. The three facts about a task's company that access.Restrict
-- tests now live on the task itself, NULL while the task has no company
-- or its company is in the trash:
--   company_responsible_id         companies.responsible_id
--   company_branch_id              companies.branch_id
--   company_responsible_branch_id  the branch of the company's responsible
-- so that each way of seeing a company is one range of one index, read in
-- due order and stopped by LIMIT. Triggers keep them exact in the writing
-- transaction: a task's company changes (insert, update, the company's
-- hard delete through ON DELETE SET NULL), a company's responsible,
-- branch or trash state changes, a user moves to another branch (or is
-- deleted: companies.responsible_id is SET NULL, which fires the
-- company's trigger). internal/access's rule is unchanged; the arms are
-- its read path, and a test holds them equal to it.
ALTER TABLE tasks ADD COLUMN company_responsible_id BIGINT;
ALTER TABLE tasks ADD COLUMN company_branch_id BIGINT;
ALTER TABLE tasks ADD COLUMN company_responsible_branch_id BIGINT;

UPDATE tasks SET (company_responsible_id, company_branch_id, company_responsible_branch_id) =
    (SELECT c.responsible_id, c.branch_id, u.branch_id
     FROM companies c LEFT JOIN users u ON u.id = c.responsible_id
     WHERE c.id = tasks.company_id AND c.deleted_at IS NULL)
WHERE company_id IS NOT NULL;

-- +goose StatementBegin
CREATE TRIGGER tasks_company_owner_insert AFTER INSERT ON tasks WHEN NEW.company_id IS NOT NULL
BEGIN
    UPDATE tasks SET (company_responsible_id, company_branch_id, company_responsible_branch_id) =
        (SELECT c.responsible_id, c.branch_id, u.branch_id
         FROM companies c LEFT JOIN users u ON u.id = c.responsible_id
         WHERE c.id = NEW.company_id AND c.deleted_at IS NULL)
    WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tasks_company_owner_update AFTER UPDATE OF company_id ON tasks
WHEN OLD.company_id IS NOT NEW.company_id
BEGIN
    UPDATE tasks SET (company_responsible_id, company_branch_id, company_responsible_branch_id) =
        (SELECT c.responsible_id, c.branch_id, u.branch_id
         FROM companies c LEFT JOIN users u ON u.id = c.responsible_id
         WHERE c.id = NEW.company_id AND c.deleted_at IS NULL)
    WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER companies_task_owner_update AFTER UPDATE OF responsible_id, branch_id, deleted_at ON companies
WHEN OLD.responsible_id IS NOT NEW.responsible_id OR OLD.branch_id IS NOT NEW.branch_id
    OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
    UPDATE tasks SET (company_responsible_id, company_branch_id, company_responsible_branch_id) =
        (SELECT c.responsible_id, c.branch_id, u.branch_id
         FROM companies c LEFT JOIN users u ON u.id = c.responsible_id
         WHERE c.id = NEW.id AND c.deleted_at IS NULL)
    WHERE company_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_task_owner_branch AFTER UPDATE OF branch_id ON users
WHEN OLD.branch_id IS NOT NEW.branch_id
BEGIN
    UPDATE tasks SET company_responsible_branch_id = NEW.branch_id WHERE company_responsible_id = NEW.id;
END;
-- +goose StatementEnd

-- Each column: its open tasks in due order (the lists open on them;
-- status and all_day end the key so that SQLite takes the index as
-- covering, see 00016), and all of its tasks in due order (done,
-- cancelled, no state; the users trigger's range).
CREATE INDEX tasks_company_resp_open_idx ON tasks (company_responsible_id, due_at, id, status, all_day)
    WHERE status IN ('new', 'in_progress') AND company_responsible_id IS NOT NULL;
CREATE INDEX tasks_company_branch_open_idx ON tasks (company_branch_id, due_at, id, status, all_day)
    WHERE status IN ('new', 'in_progress') AND company_branch_id IS NOT NULL;
CREATE INDEX tasks_company_resp_branch_open_idx ON tasks (company_responsible_branch_id, due_at, id, status, all_day)
    WHERE status IN ('new', 'in_progress') AND company_responsible_branch_id IS NOT NULL;
CREATE INDEX tasks_company_resp_idx ON tasks (company_responsible_id, due_at, id, status)
    WHERE company_responsible_id IS NOT NULL;
CREATE INDEX tasks_company_branch_idx ON tasks (company_branch_id, due_at, id, status)
    WHERE company_branch_id IS NOT NULL;
CREATE INDEX tasks_company_resp_branch_idx ON tasks (company_responsible_branch_id, due_at, id, status)
    WHERE company_responsible_branch_id IS NOT NULL;

-- +goose Down
DROP INDEX tasks_company_resp_branch_idx;
DROP INDEX tasks_company_branch_idx;
DROP INDEX tasks_company_resp_idx;
DROP INDEX tasks_company_resp_branch_open_idx;
DROP INDEX tasks_company_branch_open_idx;
DROP INDEX tasks_company_resp_open_idx;
DROP TRIGGER users_task_owner_branch;
DROP TRIGGER companies_task_owner_update;
DROP TRIGGER tasks_company_owner_update;
DROP TRIGGER tasks_company_owner_insert;
ALTER TABLE tasks DROP COLUMN company_responsible_branch_id;
ALTER TABLE tasks DROP COLUMN company_branch_id;
ALTER TABLE tasks DROP COLUMN company_responsible_id;
