-- +goose Up
-- The word index carries what a name search needs besides the word: the
-- company's sort key, whether it is live, and the two columns the access
-- scope filters on. A search by name is then answered from one covering
-- index — count, scope and order — without visiting the companies table
-- for every hit. The store writes these columns with the terms; a trigger
-- keeps them in step when a company is renamed, reassigned, deleted or
-- restored.
ALTER TABLE company_terms ADD COLUMN name_norm TEXT NOT NULL DEFAULT '';
ALTER TABLE company_terms ADD COLUMN live BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE company_terms ADD COLUMN branch_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE company_terms ADD COLUMN responsible_id BIGINT NOT NULL DEFAULT 0;

UPDATE company_terms SET name_norm = c.name_norm, live = (c.deleted_at IS NULL),
    branch_id = COALESCE(c.branch_id, 0), responsible_id = COALESCE(c.responsible_id, 0)
FROM companies c WHERE c.id = company_terms.company_id;

CREATE INDEX company_terms_search_idx ON company_terms (term, live, name_norm, company_id, branch_id, responsible_id);

-- +goose StatementBegin
CREATE TRIGGER companies_terms_follow AFTER UPDATE OF name_norm, deleted_at, branch_id, responsible_id ON companies
BEGIN
    UPDATE company_terms SET name_norm = NEW.name_norm, live = (NEW.deleted_at IS NULL),
        branch_id = COALESCE(NEW.branch_id, 0), responsible_id = COALESCE(NEW.responsible_id, 0)
    WHERE company_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER companies_terms_follow;
DROP INDEX company_terms_search_idx;
ALTER TABLE company_terms DROP COLUMN responsible_id;
ALTER TABLE company_terms DROP COLUMN branch_id;
ALTER TABLE company_terms DROP COLUMN live;
ALTER TABLE company_terms DROP COLUMN name_norm;
