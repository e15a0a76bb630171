-- +goose Up
-- What the plan decided for each row of an import's report (its action,
-- the base's company or contact, the linked company's entity, the
-- responsible, the author, the reason and the warnings): Plan writes one
-- narrow row here per record (COPY on PostgreSQL) instead of updating the
-- wide import_rows row that Stage wrote (the record, up to 100,000
-- characters, and its indexes: the UPDATE was the largest cost of an
-- import on PostgreSQL). Readers take COALESCE(import_row_plans.x,
-- import_rows.x): import_rows keeps what Stage decided itself (a skipped
-- line) and the rows of imports planned before this migration.
--
-- import_rows_action_idx goes: the report's filter now reads the action
-- through this table, and the index cost Stage an insertion a row.
CREATE TABLE import_row_plans (
    import_id      BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL,
    action         TEXT NOT NULL,
    company_id     BIGINT,
    contact_id     BIGINT,
    link_entity    INTEGER,
    responsible_id BIGINT,
    created_by_id  BIGINT,
    reason         TEXT NOT NULL DEFAULT '',
    issues         TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (import_id, number)
);
DROP INDEX import_rows_action_idx;

-- +goose Down
CREATE INDEX import_rows_action_idx ON import_rows (import_id, action, number);
UPDATE import_rows SET action = d.action, company_id = COALESCE(d.company_id, import_rows.company_id),
    contact_id = COALESCE(d.contact_id, import_rows.contact_id), link_entity = d.link_entity,
    responsible_id = d.responsible_id, created_by_id = d.created_by_id, reason = d.reason, issues = d.issues
FROM import_row_plans d WHERE d.import_id = import_rows.import_id AND d.number = import_rows.number;
DROP TABLE import_row_plans;
