-- +goose Up
-- The companies and contacts an import wrote, by row of its report: Apply
-- adds a row here (COPY on PostgreSQL) for each report row whose company
-- or contact it created or linked, instead of updating import_rows a
-- second time. An import_rows row is wide (the record, up to 100,000
-- characters, four indexes); rewriting it for one id was a fifth of the
-- server's time in an import. Readers take COALESCE(import_row_ids.x,
-- import_rows.x): import_rows keeps what the plan decided (the company a
-- row updates), this table what Apply wrote.
CREATE TABLE import_row_ids (
    import_id  BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    company_id BIGINT,
    contact_id BIGINT,
    PRIMARY KEY (import_id, number)
) WITHOUT ROWID;

-- +goose Down
UPDATE import_rows SET company_id = COALESCE(x.company_id, import_rows.company_id),
    contact_id = COALESCE(x.contact_id, import_rows.contact_id)
FROM import_row_ids x WHERE x.import_id = import_rows.import_id AND x.number = import_rows.number;
DROP TABLE import_row_ids;
