-- +goose Up
-- The number of live contacts, kept exact by a trigger, so the contact list
-- of a user who sees every company is counted without a scan.
CREATE TABLE contact_tallies (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO contact_tallies (id, n) SELECT 1, COUNT(*) FROM contacts WHERE deleted_at IS NULL;

-- +goose StatementBegin
CREATE FUNCTION contact_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        UPDATE contact_tallies SET n = n - 1 WHERE id = 1;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.deleted_at IS NULL THEN
        UPDATE contact_tallies SET n = n + 1 WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER contacts_tally AFTER INSERT OR DELETE OR UPDATE OF deleted_at
    ON contacts FOR EACH ROW EXECUTE FUNCTION contact_tally();

-- +goose Down
DROP TRIGGER contacts_tally ON contacts;
DROP FUNCTION contact_tally();
DROP TABLE contact_tallies;
