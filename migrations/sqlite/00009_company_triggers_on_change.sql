-- +goose Up
-- An UPDATE of companies names every column in its SET list, so the
-- "UPDATE OF branch_id, …" triggers fired on every edit: each one took -1
-- and +1 on the same company_tallies row and rewrote every word of the
-- company's name index. They now fire only when a value they follow
-- really changes.
DROP TRIGGER companies_tally_update;
-- +goose StatementBegin
CREATE TRIGGER companies_tally_update AFTER UPDATE OF branch_id, responsible_id, status_id, deleted_at ON companies
WHEN OLD.branch_id IS NOT NEW.branch_id OR OLD.responsible_id IS NOT NEW.responsible_id
    OR OLD.status_id IS NOT NEW.status_id OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
    UPDATE company_tallies SET n = n - 1
    WHERE OLD.deleted_at IS NULL AND branch_id = COALESCE(OLD.branch_id, 0)
      AND responsible_id = COALESCE(OLD.responsible_id, 0) AND status_id = COALESCE(OLD.status_id, 0);
    INSERT INTO company_tallies (branch_id, responsible_id, status_id, n)
    SELECT COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), COALESCE(NEW.status_id, 0), 1
    WHERE NEW.deleted_at IS NULL
    ON CONFLICT (branch_id, responsible_id, status_id) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

DROP TRIGGER companies_terms_follow;
-- +goose StatementBegin
CREATE TRIGGER companies_terms_follow AFTER UPDATE OF name_norm, deleted_at, branch_id, responsible_id ON companies
WHEN OLD.name_norm IS NOT NEW.name_norm OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
    OR OLD.branch_id IS NOT NEW.branch_id OR OLD.responsible_id IS NOT NEW.responsible_id
BEGIN
    UPDATE company_terms SET name_norm = NEW.name_norm, live = (NEW.deleted_at IS NULL),
        branch_id = COALESCE(NEW.branch_id, 0), responsible_id = COALESCE(NEW.responsible_id, 0)
    WHERE company_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER companies_terms_follow;
-- +goose StatementBegin
CREATE TRIGGER companies_terms_follow AFTER UPDATE OF name_norm, deleted_at, branch_id, responsible_id ON companies
BEGIN
    UPDATE company_terms SET name_norm = NEW.name_norm, live = (NEW.deleted_at IS NULL),
        branch_id = COALESCE(NEW.branch_id, 0), responsible_id = COALESCE(NEW.responsible_id, 0)
    WHERE company_id = NEW.id;
END;
-- +goose StatementEnd
DROP TRIGGER companies_tally_update;
-- +goose StatementBegin
CREATE TRIGGER companies_tally_update AFTER UPDATE OF branch_id, responsible_id, status_id, deleted_at ON companies
BEGIN
    UPDATE company_tallies SET n = n - 1
    WHERE OLD.deleted_at IS NULL AND branch_id = COALESCE(OLD.branch_id, 0)
      AND responsible_id = COALESCE(OLD.responsible_id, 0) AND status_id = COALESCE(OLD.status_id, 0);
    INSERT INTO company_tallies (branch_id, responsible_id, status_id, n)
    SELECT COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), COALESCE(NEW.status_id, 0), 1
    WHERE NEW.deleted_at IS NULL
    ON CONFLICT (branch_id, responsible_id, status_id) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
