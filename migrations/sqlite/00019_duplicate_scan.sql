-- +goose Up
-- The team-wide duplicate scan (admin page «Дубли»).
--
-- duplicate_pairs holds every pair of live companies the engine scored at
-- or above duplicate.Likely (a_id < b_id), with its reasons as JSON and
-- their fields as ",inn,phone," for the filter. A full scan replaces the
-- table; a re-check of one company replaces that company's pairs.
CREATE TABLE duplicate_pairs (
    a_id       BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    b_id       BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    score      REAL NOT NULL,
    reasons    TEXT NOT NULL DEFAULT '[]',
    fields     TEXT NOT NULL DEFAULT '',
    checked_at DATETIME NOT NULL,
    PRIMARY KEY (a_id, b_id),
    CHECK (a_id < b_id)
);
CREATE INDEX duplicate_pairs_b_idx ON duplicate_pairs (b_id);

-- «Не дубль», shared by the team: the pair stays dismissed while both
-- companies keep the fingerprint (ИНН, normalised name and address) they
-- had when it was dismissed; a changed fingerprint revives the pair.
CREATE TABLE duplicate_dismissals (
    a_id          BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    b_id          BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    fingerprint_a TEXT NOT NULL,
    fingerprint_b TEXT NOT NULL,
    dismissed_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    dismissed_at  DATETIME NOT NULL,
    PRIMARY KEY (a_id, b_id),
    CHECK (a_id < b_id)
);

-- Companies created or changed (ИНН, ОГРН, name, address, website, phones,
-- e-mails, deleted or restored) since the last check: the triggers below
-- mark them in the change's own transaction; the duplicate.recheck job
-- re-checks them. gen grows with every mark, so a mark made while the job
-- works is not cleared by it; taken marks the rows a full scan began
-- with (a new mark clears it), which the scan deletes when it finishes.
CREATE TABLE duplicate_dirty (
    company_id BIGINT PRIMARY KEY,
    gen        BIGINT NOT NULL DEFAULT 1,
    taken      BOOLEAN NOT NULL DEFAULT FALSE
);

-- One row per full scan; at most one is active (queued or running).
CREATE TABLE duplicate_scans (
    id           INTEGER PRIMARY KEY,
    requested_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    job_id       BIGINT NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'queued',
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    total        BIGINT NOT NULL DEFAULT 0,
    done         BIGINT NOT NULL DEFAULT 0,
    pairs        BIGINT NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL,
    finished_at  DATETIME
);
CREATE UNIQUE INDEX duplicate_scans_active_idx ON duplicate_scans (active) WHERE active;

-- +goose StatementBegin
CREATE TRIGGER companies_duplicate_dirty_insert AFTER INSERT ON companies
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER companies_duplicate_dirty_update AFTER UPDATE ON companies
    WHEN OLD.inn IS NOT NEW.inn OR OLD.kpp IS NOT NEW.kpp OR OLD.ogrn IS NOT NEW.ogrn
        OR OLD.name_norm IS NOT NEW.name_norm OR OLD.legal_name_norm IS NOT NEW.legal_name_norm
        OR OLD.address_norm IS NOT NEW.address_norm OR OLD.website_domain IS NOT NEW.website_domain
        OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER company_phones_duplicate_dirty_insert AFTER INSERT ON company_phones
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.company_id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER company_phones_duplicate_dirty_delete AFTER DELETE ON company_phones
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (OLD.company_id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER company_emails_duplicate_dirty_insert AFTER INSERT ON company_emails
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.company_id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER company_emails_duplicate_dirty_delete AFTER DELETE ON company_emails
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (OLD.company_id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER company_emails_duplicate_dirty_delete;
DROP TRIGGER company_emails_duplicate_dirty_insert;
DROP TRIGGER company_phones_duplicate_dirty_delete;
DROP TRIGGER company_phones_duplicate_dirty_insert;
DROP TRIGGER companies_duplicate_dirty_update;
DROP TRIGGER companies_duplicate_dirty_insert;
DROP TABLE duplicate_scans;
DROP TABLE duplicate_dirty;
DROP TABLE duplicate_dismissals;
DROP TABLE duplicate_pairs;
