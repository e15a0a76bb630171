-- +goose Up
-- The bulk write path: company.Store.InsertBatch and contact.Store.InsertBatch
-- of more than a handful of rows (the importer, the demo loader, crm bench)
-- keep the derived tables the triggers keep — company_tallies,
-- contact_tallies, duplicate_dirty — with one set-based statement per batch
-- instead of one trigger call per company, phone, e-mail and contact (the
-- word indexes, trigrams and phone suffixes are written by the stores in
-- bulk already). While such a batch is written its transaction says so,
-- and the INSERT triggers stand aside:
--
-- PostgreSQL: the store runs set_config('crm.bulk', 'on', true) before the
-- batch and set_config('crm.bulk', 'off', true) after it. The setting is
-- local to the transaction (is_local = true), so no other session ever sees
-- it and it ends with the transaction however it ends; the triggers' WHEN
-- reads it (current_setting(…, true) is NULL when it was never set) without
-- calling their functions at all.
--
-- Only the INSERT triggers stand aside: DELETE and UPDATE triggers (a
-- deleted phone, a restored contact) still fire row by row in every
-- transaction, so the triggers that fired for both are split here.
-- internal/contact/bulk_test.go loads the same data through both paths on
-- both databases and compares every derived table row for row.
DROP TRIGGER companies_tally ON companies;
CREATE TRIGGER companies_tally_insert AFTER INSERT ON companies
    FOR EACH ROW WHEN (current_setting('crm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION company_tally();
CREATE TRIGGER companies_tally_delete AFTER DELETE ON companies
    FOR EACH ROW EXECUTE FUNCTION company_tally();

DROP TRIGGER companies_duplicate_dirty_insert ON companies;
CREATE TRIGGER companies_duplicate_dirty_insert AFTER INSERT ON companies
    FOR EACH ROW WHEN (current_setting('crm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION duplicate_mark_dirty();

DROP TRIGGER company_phones_duplicate_dirty ON company_phones;
CREATE TRIGGER company_phones_duplicate_dirty_insert AFTER INSERT ON company_phones
    FOR EACH ROW WHEN (current_setting('crm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION duplicate_mark_dirty();
CREATE TRIGGER company_phones_duplicate_dirty_delete AFTER DELETE ON company_phones
    FOR EACH ROW EXECUTE FUNCTION duplicate_mark_dirty();

DROP TRIGGER company_emails_duplicate_dirty ON company_emails;
CREATE TRIGGER company_emails_duplicate_dirty_insert AFTER INSERT ON company_emails
    FOR EACH ROW WHEN (current_setting('crm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION duplicate_mark_dirty();
CREATE TRIGGER company_emails_duplicate_dirty_delete AFTER DELETE ON company_emails
    FOR EACH ROW EXECUTE FUNCTION duplicate_mark_dirty();

DROP TRIGGER contacts_tally ON contacts;
CREATE TRIGGER contacts_tally_insert AFTER INSERT ON contacts
    FOR EACH ROW WHEN (current_setting('crm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION contact_tally();
CREATE TRIGGER contacts_tally_change AFTER DELETE OR UPDATE OF deleted_at ON contacts
    FOR EACH ROW EXECUTE FUNCTION contact_tally();

-- The SQLite migration of the same name creates bulk_writes, its flag; the
-- table exists here too (unused) so that both databases list the same
-- tables.
CREATE TABLE bulk_writes (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);

-- A merge moves the absorbed company's amoCRM ids to the survivor (a
-- re-import then finds the survivor); undo moves these back.
ALTER TABLE company_merges ADD COLUMN amo_ids TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE company_merges DROP COLUMN amo_ids;
DROP TABLE bulk_writes;
DROP TRIGGER contacts_tally_change ON contacts;
DROP TRIGGER contacts_tally_insert ON contacts;
CREATE TRIGGER contacts_tally AFTER INSERT OR DELETE OR UPDATE OF deleted_at
    ON contacts FOR EACH ROW EXECUTE FUNCTION contact_tally();
DROP TRIGGER company_emails_duplicate_dirty_delete ON company_emails;
DROP TRIGGER company_emails_duplicate_dirty_insert ON company_emails;
CREATE TRIGGER company_emails_duplicate_dirty AFTER INSERT OR DELETE ON company_emails
    FOR EACH ROW EXECUTE FUNCTION duplicate_mark_dirty();
DROP TRIGGER company_phones_duplicate_dirty_delete ON company_phones;
DROP TRIGGER company_phones_duplicate_dirty_insert ON company_phones;
CREATE TRIGGER company_phones_duplicate_dirty AFTER INSERT OR DELETE ON company_phones
    FOR EACH ROW EXECUTE FUNCTION duplicate_mark_dirty();
DROP TRIGGER companies_duplicate_dirty_insert ON companies;
CREATE TRIGGER companies_duplicate_dirty_insert AFTER INSERT ON companies
    FOR EACH ROW EXECUTE FUNCTION duplicate_mark_dirty();
DROP TRIGGER companies_tally_delete ON companies;
DROP TRIGGER companies_tally_insert ON companies;
CREATE TRIGGER companies_tally AFTER INSERT OR DELETE ON companies
    FOR EACH ROW EXECUTE FUNCTION company_tally();
