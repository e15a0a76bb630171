-- +goose Up
-- amoCRM's own ids of what an import created or updated: a re-import of
-- the same export, or of a newer one, finds its companies and contacts by
-- them. One company may carry several (duplicate rows in amoCRM that the
-- import joined); a merge moves the absorbed company's ids to the survivor.
CREATE TABLE company_amo_ids (
    amo_id     BIGINT PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE
);
CREATE INDEX company_amo_ids_company_idx ON company_amo_ids (company_id);
CREATE TABLE contact_amo_ids (
    amo_id     BIGINT PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE
);
CREATE INDEX contact_amo_ids_contact_idx ON contact_amo_ids (contact_id);

-- One upload and its run: a dry run or an import. summary holds the
-- totals as JSON ({"created","updated","merged","skipped","errors"} and
-- the counts of the report's other sections).
CREATE TABLE imports (
    id                   INTEGER PRIMARY KEY,
    source               TEXT NOT NULL DEFAULT 'amocrm',
    file_name            TEXT NOT NULL,
    file_size            BIGINT NOT NULL DEFAULT 0,
    dry_run              BOOLEAN NOT NULL,
    created_by           BIGINT REFERENCES users (id) ON DELETE SET NULL,
    fallback_responsible BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at           DATETIME NOT NULL,
    started_at           DATETIME,
    finished_at          DATETIME,
    status               TEXT NOT NULL DEFAULT 'queued',
    processed            BIGINT NOT NULL DEFAULT 0,
    total                BIGINT NOT NULL DEFAULT 0,
    summary              TEXT NOT NULL DEFAULT '{}',
    error                TEXT NOT NULL DEFAULT '',
    CHECK (status IN ('queued', 'running', 'done', 'failed'))
);
CREATE INDEX imports_created_idx ON imports (created_at);

-- The uploaded file, in parts, so that whichever process works the job
-- reads it from the database.
CREATE TABLE import_files (
    import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    part      INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (import_id, part)
);

-- Every record of the file, as read, with what the import decided for it:
-- the staging area of the run and, afterwards, its report. record is the
-- cleaned record (amoimport.Record as JSON); the key columns are what deciding
-- joins on. action is create, update, merge, skip or error; entity is the
-- number of the record that stands for the company or contact this one
-- belongs to; company_id and contact_id are the company or contact in the
-- base it updates (decide) or created (apply); link_entity, on a contact's
-- row, is the entity number of the company in this file it belongs to;
-- responsible_id is the CRM user it goes to; reason says why, in Russian;
-- issues are the record's warnings as JSON. Companies the import creates
-- from a contact's company name (no company row names them) get rows of
-- their own, numbered after the file's last record.
CREATE TABLE import_rows (
    import_id      BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL,
    line           INTEGER NOT NULL,
    kind           TEXT NOT NULL DEFAULT '',
    amo_id         BIGINT,
    inn            TEXT NOT NULL DEFAULT '',
    name_key       TEXT NOT NULL DEFAULT '',
    address_key    TEXT NOT NULL DEFAULT '',
    company_key    TEXT NOT NULL DEFAULT '',
    record         TEXT NOT NULL DEFAULT '{}',
    action         TEXT NOT NULL DEFAULT '',
    entity         INTEGER,
    company_id     BIGINT,
    contact_id     BIGINT,
    link_entity    INTEGER,
    responsible_id BIGINT,
    reason         TEXT NOT NULL DEFAULT '',
    issues         TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (import_id, number)
);
CREATE INDEX import_rows_action_idx ON import_rows (import_id, action, number);

-- +goose Down
DROP TABLE import_rows;
DROP TABLE import_files;
DROP TABLE imports;
DROP TABLE contact_amo_ids;
DROP TABLE company_amo_ids;
