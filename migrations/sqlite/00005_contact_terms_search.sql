-- +goose Up
-- The contact word index carries the contact's sort key and liveness, so
-- a search by one word (a surname typed so far) is counted and ordered
-- from one covering index instead of visiting every hit in contacts. The
-- store writes these columns with the terms; a trigger follows renames,
-- deletion and restore.
ALTER TABLE contact_terms ADD COLUMN name_norm TEXT NOT NULL DEFAULT '';
ALTER TABLE contact_terms ADD COLUMN live BOOLEAN NOT NULL DEFAULT TRUE;

UPDATE contact_terms SET name_norm = c.name_norm, live = (c.deleted_at IS NULL)
FROM contacts c WHERE c.id = contact_terms.contact_id;

CREATE INDEX contact_terms_search_idx ON contact_terms (term, live, name_norm, contact_id);

-- +goose StatementBegin
CREATE TRIGGER contacts_terms_follow AFTER UPDATE OF name_norm, deleted_at ON contacts
BEGIN
    UPDATE contact_terms SET name_norm = NEW.name_norm, live = (NEW.deleted_at IS NULL)
    WHERE contact_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER contacts_terms_follow;
DROP INDEX contact_terms_search_idx;
ALTER TABLE contact_terms DROP COLUMN live;
ALTER TABLE contact_terms DROP COLUMN name_norm;
