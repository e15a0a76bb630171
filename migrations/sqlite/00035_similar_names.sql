-- +goose Up
-- Similar names are looked up among distinct names, not companies (see
-- the PostgreSQL migration of the same name for why): company_names holds
-- each normalised name once, name_trigrams its trigrams, both following
-- company_trigrams through a trigger; names out of use stay (the lookup
-- reads only live companies).
CREATE TABLE company_names (
    id        INTEGER PRIMARY KEY,
    name_norm TEXT NOT NULL UNIQUE
);
CREATE TABLE name_trigrams (
    trigram TEXT NOT NULL,
    ntri    INTEGER NOT NULL,
    name_id BIGINT NOT NULL REFERENCES company_names (id) ON DELETE CASCADE,
    PRIMARY KEY (trigram, ntri, name_id)
) WITHOUT ROWID;

-- The existing names, with the trigrams of one company of each.
INSERT INTO company_names (name_norm)
SELECT DISTINCT name_norm FROM companies WHERE name_norm <> '' ORDER BY name_norm;
INSERT INTO name_trigrams (trigram, ntri, name_id)
SELECT t.trigram, t.ntri, n.id
FROM (SELECT name_norm, MIN(id) AS rep FROM companies WHERE name_norm <> '' GROUP BY name_norm) r
JOIN company_names n ON n.name_norm = r.name_norm
JOIN company_trigrams t ON t.company_id = r.rep;

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

-- +goose Down
DROP TRIGGER company_trigrams_names;
DROP TABLE name_trigrams;
DROP TABLE company_names;
