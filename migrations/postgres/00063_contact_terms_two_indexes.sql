-- +goose Up
-- A contact's search words were kept in three indexes: the primary key
-- (term, contact_id), the search index (term, live, name_norm,
-- contact_id) and the index by owner (contact_id, term). Every search by
-- a word reads the search index, which begins with the same term; the
-- primary key served nothing but uniqueness, which the index by owner can
-- hold as well. So the index by owner becomes the primary key, and a word
-- written costs two index entries instead of three (an import of 100,000
-- rows writes 237,000 words). SQLite's migration of the same name makes
-- the table itself the search index.
ALTER TABLE contact_terms DROP CONSTRAINT contact_terms_pkey;
DROP INDEX contact_terms_contact_term_idx;
ALTER TABLE contact_terms ADD CONSTRAINT contact_terms_pkey PRIMARY KEY (contact_id, term);

-- An uploaded file is compressed with lz4 rather than pglz: pglz spent a
-- second of the server's processor on the 53 MB of a 100,000-row export,
-- lz4 a tenth of that, for a little more space.
ALTER TABLE import_files ALTER COLUMN data SET COMPRESSION lz4;

-- An import's staged rows, their plans and their ids lose their foreign
-- keys to imports: only the import writes them, for the import it runs
-- in, and the key cost a query of imports per row written (300,000 for a
-- 100,000-row export; two thirds of the time of each COPY into the narrow
-- import_row_plans and import_row_ids). A trigger keeps what the keys'
-- ON DELETE CASCADE did. SQLite keeps its keys: there a key is a look-up
-- in the same B-tree page, not a query.
ALTER TABLE import_rows DROP CONSTRAINT import_rows_import_id_fkey;
ALTER TABLE import_row_plans DROP CONSTRAINT import_row_plans_import_id_fkey;
ALTER TABLE import_row_ids DROP CONSTRAINT import_row_ids_import_id_fkey;
-- +goose StatementBegin
CREATE FUNCTION import_rows_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM import_row_ids x USING old_imports o WHERE x.import_id = o.id;
    DELETE FROM import_row_plans d USING old_imports o WHERE d.import_id = o.id;
    DELETE FROM import_rows r USING old_imports o WHERE r.import_id = o.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER imports_rows_cascade AFTER DELETE ON imports
    REFERENCING OLD TABLE AS old_imports
    FOR EACH STATEMENT EXECUTE FUNCTION import_rows_cascade();

-- The search words of contacts and companies lose their foreign keys the
-- same way (as name_trigrams lost its in 00044): their stores write them
-- with their owners, and the key cost a query of the owner per word (an
-- import of 100,000 rows writes 307,000 words; the key's check was 38 %
-- of the time of inserting contact_terms). Statement triggers delete the
-- words of deleted owners, as ON DELETE CASCADE did.
ALTER TABLE contact_terms DROP CONSTRAINT contact_terms_contact_id_fkey;
ALTER TABLE company_terms DROP CONSTRAINT company_terms_company_id_fkey;
-- +goose StatementBegin
CREATE FUNCTION contact_terms_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contact_terms t USING old_contacts o WHERE t.contact_id = o.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER contacts_terms_cascade AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION contact_terms_cascade();
-- +goose StatementBegin
CREATE FUNCTION company_terms_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM company_terms t USING old_companies o WHERE t.company_id = o.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER companies_terms_cascade AFTER DELETE ON companies
    REFERENCING OLD TABLE AS old_companies
    FOR EACH STATEMENT EXECUTE FUNCTION company_terms_cascade();

-- +goose Down
DROP TRIGGER companies_terms_cascade ON companies;
DROP FUNCTION company_terms_cascade();
DROP TRIGGER contacts_terms_cascade ON contacts;
DROP FUNCTION contact_terms_cascade();
DELETE FROM company_terms t WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = t.company_id);
DELETE FROM contact_terms t WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = t.contact_id);
ALTER TABLE company_terms ADD CONSTRAINT company_terms_company_id_fkey
    FOREIGN KEY (company_id) REFERENCES companies (id) ON DELETE CASCADE;
ALTER TABLE contact_terms ADD CONSTRAINT contact_terms_contact_id_fkey
    FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE;
DROP TRIGGER imports_rows_cascade ON imports;
DROP FUNCTION import_rows_cascade();
ALTER TABLE import_rows ADD CONSTRAINT import_rows_import_id_fkey
    FOREIGN KEY (import_id) REFERENCES imports (id) ON DELETE CASCADE;
ALTER TABLE import_row_plans ADD CONSTRAINT import_row_plans_import_id_fkey
    FOREIGN KEY (import_id) REFERENCES imports (id) ON DELETE CASCADE;
ALTER TABLE import_row_ids ADD CONSTRAINT import_row_ids_import_id_fkey
    FOREIGN KEY (import_id) REFERENCES imports (id) ON DELETE CASCADE;
ALTER TABLE import_files ALTER COLUMN data SET COMPRESSION pglz;
ALTER TABLE contact_terms DROP CONSTRAINT contact_terms_pkey;
ALTER TABLE contact_terms ADD CONSTRAINT contact_terms_pkey PRIMARY KEY (term, contact_id);
CREATE INDEX contact_terms_contact_term_idx ON contact_terms (contact_id, term);
