-- +goose Up
-- Companies and contacts share one phone and e-mail value: company e-mails
-- get the comment contact e-mails already have, and any stored kind outside
-- the contract's lists (or blank) becomes the one the API would give it.
ALTER TABLE company_emails ADD COLUMN comment TEXT NOT NULL DEFAULT '';

UPDATE company_phones SET kind = 'work' WHERE kind = '';
UPDATE contact_phones SET kind = 'work' WHERE kind = '';
UPDATE company_phones SET kind = 'other'
    WHERE kind NOT IN ('work', 'work_direct', 'mobile', 'home', 'fax', 'other');
UPDATE contact_phones SET kind = 'other'
    WHERE kind NOT IN ('work', 'work_direct', 'mobile', 'home', 'fax', 'other');
UPDATE company_emails SET kind = 'work' WHERE kind = '';
UPDATE contact_emails SET kind = 'work' WHERE kind = '';
UPDATE company_emails SET kind = 'other' WHERE kind NOT IN ('work', 'personal', 'other');
UPDATE contact_emails SET kind = 'other' WHERE kind NOT IN ('work', 'personal', 'other');

-- +goose Down
ALTER TABLE company_emails DROP COLUMN comment;
