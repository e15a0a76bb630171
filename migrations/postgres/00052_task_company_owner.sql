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
ALTER TABLE tasks ADD COLUMN company_responsible_id BIGINT,
    ADD COLUMN company_branch_id BIGINT,
    ADD COLUMN company_responsible_branch_id BIGINT;

UPDATE tasks t SET company_responsible_id = c.responsible_id, company_branch_id = c.branch_id,
    company_responsible_branch_id = u.branch_id
FROM companies c LEFT JOIN users u ON u.id = c.responsible_id
WHERE c.id = t.company_id AND c.deleted_at IS NULL;

-- +goose StatementBegin
CREATE FUNCTION task_company_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.responsible_id, c.branch_id, u.branch_id
    INTO NEW.company_responsible_id, NEW.company_branch_id, NEW.company_responsible_branch_id
    FROM companies c LEFT JOIN users u ON u.id = c.responsible_id
    WHERE c.id = NEW.company_id AND c.deleted_at IS NULL;
    IF NOT FOUND THEN
        NEW.company_responsible_id := NULL;
        NEW.company_branch_id := NULL;
        NEW.company_responsible_branch_id := NULL;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tasks_company_owner_insert BEFORE INSERT ON tasks
    FOR EACH ROW WHEN (NEW.company_id IS NOT NULL)
    EXECUTE FUNCTION task_company_owner();
CREATE TRIGGER tasks_company_owner_update BEFORE UPDATE OF company_id ON tasks
    FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id)
    EXECUTE FUNCTION task_company_owner();

-- +goose StatementBegin
CREATE FUNCTION company_task_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks t SET company_responsible_id = o.responsible_id, company_branch_id = o.branch_id,
        company_responsible_branch_id = o.responsible_branch_id
    FROM (SELECT CASE WHEN NEW.deleted_at IS NULL THEN NEW.responsible_id END AS responsible_id,
            CASE WHEN NEW.deleted_at IS NULL THEN NEW.branch_id END AS branch_id,
            CASE WHEN NEW.deleted_at IS NULL THEN (SELECT u.branch_id FROM users u WHERE u.id = NEW.responsible_id) END
                AS responsible_branch_id) o
    WHERE t.company_id = NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER companies_task_owner_update AFTER UPDATE OF responsible_id, branch_id, deleted_at ON companies
    FOR EACH ROW
    WHEN (OLD.responsible_id IS DISTINCT FROM NEW.responsible_id OR OLD.branch_id IS DISTINCT FROM NEW.branch_id
        OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION company_task_owner();

-- +goose StatementBegin
CREATE FUNCTION user_task_owner_branch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks SET company_responsible_branch_id = NEW.branch_id WHERE company_responsible_id = NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER users_task_owner_branch AFTER UPDATE OF branch_id ON users
    FOR EACH ROW WHEN (OLD.branch_id IS DISTINCT FROM NEW.branch_id)
    EXECUTE FUNCTION user_task_owner_branch();

-- Each column: its open tasks in due order (the lists open on them), and
-- all of its tasks in due order (done, cancelled, no state; the users
-- trigger's range).
CREATE INDEX tasks_company_resp_open_idx ON tasks (company_responsible_id, due_at, id) INCLUDE (all_day)
    WHERE status IN ('new', 'in_progress') AND company_responsible_id IS NOT NULL;
CREATE INDEX tasks_company_branch_open_idx ON tasks (company_branch_id, due_at, id) INCLUDE (all_day)
    WHERE status IN ('new', 'in_progress') AND company_branch_id IS NOT NULL;
CREATE INDEX tasks_company_resp_branch_open_idx ON tasks (company_responsible_branch_id, due_at, id) INCLUDE (all_day)
    WHERE status IN ('new', 'in_progress') AND company_responsible_branch_id IS NOT NULL;
CREATE INDEX tasks_company_resp_idx ON tasks (company_responsible_id, due_at, id) INCLUDE (status)
    WHERE company_responsible_id IS NOT NULL;
CREATE INDEX tasks_company_branch_idx ON tasks (company_branch_id, due_at, id) INCLUDE (status)
    WHERE company_branch_id IS NOT NULL;
CREATE INDEX tasks_company_resp_branch_idx ON tasks (company_responsible_branch_id, due_at, id) INCLUDE (status)
    WHERE company_responsible_branch_id IS NOT NULL;

-- +goose Down
DROP INDEX tasks_company_resp_branch_idx;
DROP INDEX tasks_company_branch_idx;
DROP INDEX tasks_company_resp_idx;
DROP INDEX tasks_company_resp_branch_open_idx;
DROP INDEX tasks_company_branch_open_idx;
DROP INDEX tasks_company_resp_open_idx;
DROP TRIGGER users_task_owner_branch ON users;
DROP FUNCTION user_task_owner_branch();
DROP TRIGGER companies_task_owner_update ON companies;
DROP FUNCTION company_task_owner();
DROP TRIGGER tasks_company_owner_update ON tasks;
DROP TRIGGER tasks_company_owner_insert ON tasks;
DROP FUNCTION task_company_owner();
ALTER TABLE tasks DROP COLUMN company_responsible_branch_id,
    DROP COLUMN company_branch_id,
    DROP COLUMN company_responsible_id;
