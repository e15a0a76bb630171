-- +goose Up
-- The trigrams of a company's name are written once, keyed by the name:
-- company.Store writes company_names and name_trigrams itself, for the
-- names not yet there (a batch's distinct new names, then their trigrams
-- with COPY). company_trigrams, one row per company and trigram, was read
-- by nothing but the trigger that copied every row of it a second time
-- into name_trigrams (00035): in an import it was 40 % of the server's
-- statement time. Both go; the names and trigrams already kept stay as
-- they are (the trigger kept them complete).
DROP TRIGGER company_trigrams_names ON company_trigrams;
DROP FUNCTION name_trigrams_follow();
DROP TABLE company_trigrams;

-- A name is never deleted (one out of use stays), and its trigrams are
-- written in the transaction that inserts it: the foreign key of
-- name_trigrams guarded nothing and checked every trigram row of an
-- import against company_names, one lookup each.
ALTER TABLE name_trigrams DROP CONSTRAINT name_trigrams_name_id_fkey;

-- +goose Down
ALTER TABLE name_trigrams ADD CONSTRAINT name_trigrams_name_id_fkey
    FOREIGN KEY (name_id) REFERENCES company_names (id) ON DELETE CASCADE;
CREATE TABLE company_trigrams (
    trigram    TEXT NOT NULL,
    ntri       INTEGER NOT NULL,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    PRIMARY KEY (trigram, ntri, company_id)
);
CREATE INDEX company_trigrams_company_idx ON company_trigrams (company_id, trigram);
INSERT INTO company_trigrams (trigram, ntri, company_id)
SELECT t.trigram, t.ntri, c.id FROM companies c
JOIN company_names n ON n.name_norm = c.name_norm
JOIN name_trigrams t ON t.name_id = n.id;
-- +goose StatementBegin
CREATE FUNCTION name_trigrams_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO company_names (name_norm)
    SELECT DISTINCT c.name_norm FROM companies c
    WHERE c.id IN (SELECT company_id FROM added) AND c.name_norm <> ''
        AND NOT EXISTS (SELECT 1 FROM company_names n WHERE n.name_norm = c.name_norm)
    ON CONFLICT (name_norm) DO NOTHING;
    INSERT INTO name_trigrams (trigram, ntri, name_id)
    SELECT DISTINCT a.trigram, a.ntri, n.id FROM added a
    JOIN companies c ON c.id = a.company_id
    JOIN company_names n ON n.name_norm = c.name_norm
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER company_trigrams_names AFTER INSERT ON company_trigrams
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION name_trigrams_follow();
