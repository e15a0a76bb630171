-- +goose Up
-- The last seven digits of each normalised number (dedup.Phone.Suffix),
-- stored and indexed, so that a search by «123-45-67» — how people
-- remember numbers — is an index look-up, not a scan. The stores write it
-- with every phone; existing rows are filled here.
ALTER TABLE company_phones ADD COLUMN e164_suffix TEXT NOT NULL DEFAULT '';
UPDATE company_phones SET e164_suffix = substr(e164, length(e164) - 6) WHERE length(e164) >= 8;
CREATE INDEX company_phones_suffix_idx ON company_phones (e164_suffix) WHERE e164_suffix <> '';

ALTER TABLE contact_phones ADD COLUMN e164_suffix TEXT NOT NULL DEFAULT '';
UPDATE contact_phones SET e164_suffix = substr(e164, length(e164) - 6) WHERE length(e164) >= 8;
CREATE INDEX contact_phones_suffix_idx ON contact_phones (e164_suffix) WHERE e164_suffix <> '';

-- +goose Down
DROP INDEX contact_phones_suffix_idx;
ALTER TABLE contact_phones DROP COLUMN e164_suffix;
DROP INDEX company_phones_suffix_idx;
ALTER TABLE company_phones DROP COLUMN e164_suffix;
