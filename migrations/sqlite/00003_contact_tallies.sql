-- +goose Up
-- The number of live contacts, kept exact by triggers, so the contact list
-- of a user who sees every company is counted without a scan.
CREATE TABLE contact_tallies (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO contact_tallies (id, n) SELECT 1, COUNT(*) FROM contacts WHERE deleted_at IS NULL;

-- +goose StatementBegin
CREATE TRIGGER contacts_tally_insert AFTER INSERT ON contacts WHEN NEW.deleted_at IS NULL
BEGIN
    UPDATE contact_tallies SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER contacts_tally_delete AFTER DELETE ON contacts WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE contact_tallies SET n = n - 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER contacts_tally_update AFTER UPDATE OF deleted_at ON contacts
    WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
    UPDATE contact_tallies SET n = n + CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER contacts_tally_update;
DROP TRIGGER contacts_tally_delete;
DROP TRIGGER contacts_tally_insert;
DROP TABLE contact_tallies;
