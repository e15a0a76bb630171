-- +goose Up
-- An UPDATE of companies names every column in its SET list, so the
-- "UPDATE OF branch_id, …" triggers fired on every edit: each PATCH took
-- -1 and +1 on the same company_tallies row (holding its lock to commit,
-- so edits of companies in the same branch, responsible and status waited
-- for each other) and rewrote every word of the company's name index.
-- The triggers now fire only when a value they follow really changes.
DROP TRIGGER companies_tally ON companies;
CREATE TRIGGER companies_tally AFTER INSERT OR DELETE ON companies
    FOR EACH ROW EXECUTE FUNCTION company_tally();
CREATE TRIGGER companies_tally_update AFTER UPDATE OF branch_id, responsible_id, status_id, deleted_at ON companies
    FOR EACH ROW
    WHEN (OLD.branch_id IS DISTINCT FROM NEW.branch_id OR OLD.responsible_id IS DISTINCT FROM NEW.responsible_id
        OR OLD.status_id IS DISTINCT FROM NEW.status_id OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION company_tally();

DROP TRIGGER companies_terms_follow ON companies;
CREATE TRIGGER companies_terms_follow AFTER UPDATE OF name_norm, deleted_at, branch_id, responsible_id ON companies
    FOR EACH ROW
    WHEN (OLD.name_norm IS DISTINCT FROM NEW.name_norm OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
        OR OLD.branch_id IS DISTINCT FROM NEW.branch_id OR OLD.responsible_id IS DISTINCT FROM NEW.responsible_id)
    EXECUTE FUNCTION company_terms_follow();

-- +goose Down
DROP TRIGGER companies_terms_follow ON companies;
CREATE TRIGGER companies_terms_follow AFTER UPDATE OF name_norm, deleted_at, branch_id, responsible_id
    ON companies FOR EACH ROW EXECUTE FUNCTION company_terms_follow();
DROP TRIGGER companies_tally_update ON companies;
DROP TRIGGER companies_tally ON companies;
CREATE TRIGGER companies_tally AFTER INSERT OR DELETE OR UPDATE OF branch_id, responsible_id, status_id, deleted_at
    ON companies FOR EACH ROW EXECUTE FUNCTION company_tally();
