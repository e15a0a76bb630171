-- +goose Up
-- A company's search words were kept in three indexes, as the contacts'
-- were before 00063: the primary key (term, company_id), the search
-- index (term, live, name_norm, company_id, branch_id, responsible_id)
-- and the index by owner (company_id, term). Every search by a word reads
-- the search index, which begins with the same term; the primary key
-- served nothing but uniqueness, which the index by owner holds as well.
-- So the index by owner becomes the primary key, and a word written costs
-- two index entries instead of three (an import of 100,000 rows writes
-- 70,000 company words). SQLite's migration of the same name changes
-- nothing.
ALTER TABLE company_terms DROP CONSTRAINT company_terms_pkey;
DROP INDEX company_terms_company_term_idx;
ALTER TABLE company_terms ADD CONSTRAINT company_terms_pkey PRIMARY KEY (company_id, term);

-- +goose Down
ALTER TABLE company_terms DROP CONSTRAINT company_terms_pkey;
ALTER TABLE company_terms ADD CONSTRAINT company_terms_pkey PRIMARY KEY (term, company_id);
CREATE INDEX company_terms_company_term_idx ON company_terms (company_id, term);
