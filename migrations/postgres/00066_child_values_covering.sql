-- +goose Up
-- An export of the whole base reads each of these tables front to back
-- in the order of its parent's index (company.Selection.Each, the
-- contacts' streams of export.readContactValues): with the value and the
-- comment in the index, and id in its order, that read is an index-only
-- scan, with no heap page a row and no sort of a parent's rows. At a
-- million companies the server's CPU for the four tables' streams fell
-- by about a third (company_phones 0.69 → 0.51 s, contact_phones 0.56 →
-- 0.33 s), at the time the server's CPU bounds the export. The indexes
-- keep their names, their leading columns and what they carried (the
-- duplicate check's keys), so every plan that used them still does.
DROP INDEX company_phones_company_idx;
CREATE INDEX company_phones_company_idx ON company_phones (company_id, position, id) INCLUDE (e164, value, comment);
DROP INDEX company_emails_company_idx;
CREATE INDEX company_emails_company_idx ON company_emails (company_id, position, id) INCLUDE (value_norm, value, comment);
DROP INDEX contact_phones_contact_idx;
CREATE INDEX contact_phones_contact_idx ON contact_phones (contact_id, position, id) INCLUDE (value, comment);
DROP INDEX contact_emails_contact_idx;
CREATE INDEX contact_emails_contact_idx ON contact_emails (contact_id, position, id) INCLUDE (value, comment);

-- +goose Down
DROP INDEX company_phones_company_idx;
CREATE INDEX company_phones_company_idx ON company_phones (company_id, position, id) INCLUDE (e164);
DROP INDEX company_emails_company_idx;
CREATE INDEX company_emails_company_idx ON company_emails (company_id, position) INCLUDE (value_norm);
DROP INDEX contact_phones_contact_idx;
CREATE INDEX contact_phones_contact_idx ON contact_phones (contact_id, position);
DROP INDEX contact_emails_contact_idx;
CREATE INDEX contact_emails_contact_idx ON contact_emails (contact_id, position);
