-- +goose Up
-- A company's search words were kept in four B-trees: the table by rowid,
-- its primary key (term, company_id), the search index (term, live,
-- name_norm, company_id, branch_id, responsible_id) and the index by
-- owner (company_id, term). As contact_terms in 00063, the table now is
-- the search index — WITHOUT ROWID, keyed by the search index's columns —
-- and the index by owner, made unique, holds what the primary key held: a
-- word written costs two B-tree entries instead of four (an import of
-- 100,000 rows writes 70,000 company words). Searches read the table's
-- key as they read the search index, with the same columns. The trigger
-- that follows renames and reassignments goes while the table is made
-- again and comes back unchanged. The foreign key to companies goes too
-- (a look-up of companies per word written; PostgreSQL dropped its key in
-- 00063): the store writes a company's words with the company, and a
-- trigger deletes the words of a deleted company, as ON DELETE CASCADE
-- did. PostgreSQL's migration of the same name changes nothing: there the
-- table's heap is no B-tree.
DROP TRIGGER companies_terms_follow;
CREATE TABLE company_terms_new (
    term           TEXT NOT NULL,
    company_id     BIGINT NOT NULL,
    name_norm      TEXT NOT NULL DEFAULT '',
    live           BOOLEAN NOT NULL DEFAULT TRUE,
    branch_id      BIGINT NOT NULL DEFAULT 0,
    responsible_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (term, live, name_norm, company_id, branch_id, responsible_id)
) WITHOUT ROWID;
INSERT INTO company_terms_new (term, company_id, name_norm, live, branch_id, responsible_id)
SELECT term, company_id, name_norm, live, branch_id, responsible_id FROM company_terms;
DROP TABLE company_terms;
ALTER TABLE company_terms_new RENAME TO company_terms;
CREATE UNIQUE INDEX company_terms_company_term_idx ON company_terms (company_id, term);
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
-- +goose StatementBegin
CREATE TRIGGER companies_terms_cascade AFTER DELETE ON companies
BEGIN
    DELETE FROM company_terms WHERE company_id = OLD.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER companies_terms_cascade;
DROP TRIGGER companies_terms_follow;
CREATE TABLE company_terms_old (
    term           TEXT NOT NULL,
    company_id     BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name_norm      TEXT NOT NULL DEFAULT '',
    live           BOOLEAN NOT NULL DEFAULT TRUE,
    branch_id      BIGINT NOT NULL DEFAULT 0,
    responsible_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (term, company_id)
);
INSERT INTO company_terms_old (term, company_id, name_norm, live, branch_id, responsible_id)
SELECT term, company_id, name_norm, live, branch_id, responsible_id FROM company_terms t
WHERE EXISTS (SELECT 1 FROM companies c WHERE c.id = t.company_id);
DROP TABLE company_terms;
ALTER TABLE company_terms_old RENAME TO company_terms;
CREATE INDEX company_terms_search_idx ON company_terms (term, live, name_norm, company_id, branch_id, responsible_id);
CREATE INDEX company_terms_company_term_idx ON company_terms (company_id, term);
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
