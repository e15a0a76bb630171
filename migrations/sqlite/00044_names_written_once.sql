-- +goose Up
-- The trigrams of a company's name are written once, keyed by the name
-- (see the PostgreSQL migration of the same name): company.Store writes
-- company_names and name_trigrams itself, for the names not yet there;
-- company_trigrams, read by nothing but the trigger that copied it into
-- name_trigrams, goes with that trigger.
DROP TRIGGER company_trigrams_names;
DROP TABLE company_trigrams;

-- name_trigrams loses its foreign key (names are never deleted, and a
-- name's trigrams are written with it): SQLite drops a constraint by
-- making the table again.
CREATE TABLE name_trigrams_new (
    trigram TEXT NOT NULL,
    ntri    INTEGER NOT NULL,
    name_id BIGINT NOT NULL,
    PRIMARY KEY (trigram, ntri, name_id)
) WITHOUT ROWID;
INSERT INTO name_trigrams_new (trigram, ntri, name_id) SELECT trigram, ntri, name_id FROM name_trigrams;
DROP TABLE name_trigrams;
ALTER TABLE name_trigrams_new RENAME TO name_trigrams;

-- +goose Down
CREATE TABLE name_trigrams_old (
    trigram TEXT NOT NULL,
    ntri    INTEGER NOT NULL,
    name_id BIGINT NOT NULL REFERENCES company_names (id) ON DELETE CASCADE,
    PRIMARY KEY (trigram, ntri, name_id)
) WITHOUT ROWID;
INSERT INTO name_trigrams_old (trigram, ntri, name_id) SELECT trigram, ntri, name_id FROM name_trigrams;
DROP TABLE name_trigrams;
ALTER TABLE name_trigrams_old RENAME TO name_trigrams;
CREATE TABLE company_trigrams (
    trigram    TEXT NOT NULL,
    ntri       INTEGER NOT NULL,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    PRIMARY KEY (trigram, ntri, company_id)
) WITHOUT ROWID;
CREATE INDEX company_trigrams_company_idx ON company_trigrams (company_id, trigram);
INSERT INTO company_trigrams (trigram, ntri, company_id)
SELECT t.trigram, t.ntri, c.id FROM companies c
JOIN company_names n ON n.name_norm = c.name_norm
JOIN name_trigrams t ON t.name_id = n.id;
-- +goose StatementBegin
CREATE TRIGGER company_trigrams_names AFTER INSERT ON company_trigrams
BEGIN
    INSERT INTO company_names (name_norm)
    SELECT c.name_norm FROM companies c
    WHERE c.id = NEW.company_id AND c.name_norm <> ''
        AND NOT EXISTS (SELECT 1 FROM company_names n WHERE n.name_norm = c.name_norm)
    ON CONFLICT (name_norm) DO NOTHING;
    INSERT INTO name_trigrams (trigram, ntri, name_id)
    SELECT NEW.trigram, NEW.ntri, n.id FROM companies c
    JOIN company_names n ON n.name_norm = c.name_norm
    WHERE c.id = NEW.company_id
    ON CONFLICT DO NOTHING;
END;
-- +goose StatementEnd
