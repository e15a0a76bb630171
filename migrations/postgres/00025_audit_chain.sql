-- +goose Up
-- The audit log becomes tamper-evident: each entry carries hash, the
-- SHA-256 of its canonical encoding and the previous entry's hash
-- (internal/audit/chain.go). audit_head is the chain's one-row head: an
-- audited write takes its row lock (UPDATE … RETURNING) right before its
-- insert, so appends to the chain queue for each other until commit and
-- nothing else does; it also gives the next id, so the chain's order is
-- the id order. Entries written before this migration have no hash yet
-- (sealed is false while any exist): the first audited write, the
-- server's start or "crm audit verify" hashes them, in id order, once.
ALTER TABLE audit_log ADD COLUMN hash TEXT;

CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_id   BIGINT NOT NULL,
    last_hash TEXT NOT NULL,
    sealed    BOOLEAN NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash, sealed)
SELECT 1, COALESCE(MAX(id), 0), '', COUNT(*) = 0 FROM audit_log;

-- What the admin page's incremental check has verified so far: entries up
-- to verified_id, whose hash was verified_hash, or the first broken one.
CREATE TABLE audit_verification (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    verified_id   BIGINT NOT NULL DEFAULT 0,
    verified_hash TEXT NOT NULL DEFAULT '',
    checked_at    TIMESTAMPTZ,
    broken_id     BIGINT NOT NULL DEFAULT 0,
    broken_reason TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_verification (id) VALUES (1);

-- Append-only: no UPDATE, DELETE or TRUNCATE, except the one-time sealing
-- of an old entry (its hash from NULL to a value, nothing else changed).
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.hash IS NULL AND NEW.hash IS NOT NULL
           AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_name, NEW.actor_system, NEW.action,
                NEW.object_type, NEW.object_id, NEW.outcome, NEW.ip, NEW.detail)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.at, OLD.actor_id, OLD.actor_name, OLD.actor_system, OLD.action,
                OLD.object_type, OLD.object_id, OLD.outcome, OLD.ip, OLD.detail) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TRIGGER audit_log_no_truncate ON audit_log;
DROP TRIGGER audit_log_append_only ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_verification;
DROP TABLE audit_head;
ALTER TABLE audit_log DROP COLUMN hash;
