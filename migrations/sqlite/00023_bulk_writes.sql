-- +goose Up
-- The bulk write path: company.Store.InsertBatch and contact.Store.InsertBatch
-- of more than a handful of rows (the importer, the demo loader, crm bench)
-- keep the derived tables the triggers keep — company_tallies,
-- contact_tallies, duplicate_dirty — with one set-based statement per batch
-- instead of one trigger program per company, phone, e-mail and contact
-- (the word indexes, trigrams and phone suffixes are written by the stores
-- in bulk already). While such a batch is written its transaction says so,
-- and the INSERT triggers stand aside.
--
-- SQLite: a trigger on a main table cannot read a temp table, and SQLite
-- has no session settings, so the flag is bulk_writes, a main table of at
-- most one row. The store inserts the row before the batch and deletes it
-- after, inside the writing transaction; the triggers' WHEN looks it up.
-- That is sound because SQLite has one writer at a time and readers see
-- only committed data: no other connection ever sees the row (it is gone
-- before the transaction can commit), and a transaction that fails midway
-- rolls it back with everything else. The batch's own transaction is the
-- only one whose triggers stand aside.
--
-- Only the INSERT triggers stand aside: DELETE and UPDATE triggers still
-- fire row by row. internal/contact/bulk_test.go loads the same data
-- through both paths on both databases and compares every derived table
-- row for row.
CREATE TABLE bulk_writes (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);

DROP TRIGGER companies_tally_insert;
-- +goose StatementBegin
CREATE TRIGGER companies_tally_insert AFTER INSERT ON companies
WHEN NEW.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM bulk_writes)
BEGIN
    INSERT INTO company_tallies (branch_id, responsible_id, status_id, n)
    VALUES (COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), COALESCE(NEW.status_id, 0), 1)
    ON CONFLICT (branch_id, responsible_id, status_id) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

DROP TRIGGER companies_duplicate_dirty_insert;
-- +goose StatementBegin
CREATE TRIGGER companies_duplicate_dirty_insert AFTER INSERT ON companies
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes)
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd

DROP TRIGGER company_phones_duplicate_dirty_insert;
-- +goose StatementBegin
CREATE TRIGGER company_phones_duplicate_dirty_insert AFTER INSERT ON company_phones
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes)
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.company_id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd

DROP TRIGGER company_emails_duplicate_dirty_insert;
-- +goose StatementBegin
CREATE TRIGGER company_emails_duplicate_dirty_insert AFTER INSERT ON company_emails
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes)
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.company_id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd

DROP TRIGGER contacts_tally_insert;
-- +goose StatementBegin
CREATE TRIGGER contacts_tally_insert AFTER INSERT ON contacts
WHEN NEW.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM bulk_writes)
BEGIN
    UPDATE contact_tallies SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- A merge moves the absorbed company's amoCRM ids to the survivor (a
-- re-import then finds the survivor); undo moves these back.
ALTER TABLE company_merges ADD COLUMN amo_ids TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE company_merges DROP COLUMN amo_ids;
DROP TRIGGER contacts_tally_insert;
-- +goose StatementBegin
CREATE TRIGGER contacts_tally_insert AFTER INSERT ON contacts WHEN NEW.deleted_at IS NULL
BEGIN
    UPDATE contact_tallies SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd
DROP TRIGGER company_emails_duplicate_dirty_insert;
-- +goose StatementBegin
CREATE TRIGGER company_emails_duplicate_dirty_insert AFTER INSERT ON company_emails
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.company_id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd
DROP TRIGGER company_phones_duplicate_dirty_insert;
-- +goose StatementBegin
CREATE TRIGGER company_phones_duplicate_dirty_insert AFTER INSERT ON company_phones
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.company_id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd
DROP TRIGGER companies_duplicate_dirty_insert;
-- +goose StatementBegin
CREATE TRIGGER companies_duplicate_dirty_insert AFTER INSERT ON companies
BEGIN
    INSERT INTO duplicate_dirty (company_id) VALUES (NEW.id)
        ON CONFLICT (company_id) DO UPDATE SET gen = gen + 1, taken = FALSE;
END;
-- +goose StatementEnd
DROP TRIGGER companies_tally_insert;
-- +goose StatementBegin
CREATE TRIGGER companies_tally_insert AFTER INSERT ON companies WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO company_tallies (branch_id, responsible_id, status_id, n)
    VALUES (COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), COALESCE(NEW.status_id, 0), 1)
    ON CONFLICT (branch_id, responsible_id, status_id) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
DROP TABLE bulk_writes;
