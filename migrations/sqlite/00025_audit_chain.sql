-- +goose Up
-- The audit log becomes tamper-evident: see the PostgreSQL migration of
-- the same name. SQLite serialises writers already; audit_head gives the
-- next id and the last hash the same way on both databases.
ALTER TABLE audit_log ADD COLUMN hash TEXT;

CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_id   BIGINT NOT NULL,
    last_hash TEXT NOT NULL,
    sealed    BOOLEAN NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash, sealed)
SELECT 1, COALESCE(MAX(id), 0), '', COUNT(*) = 0 FROM audit_log;

CREATE TABLE audit_verification (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    verified_id   BIGINT NOT NULL DEFAULT 0,
    verified_hash TEXT NOT NULL DEFAULT '',
    checked_at    DATETIME,
    broken_id     BIGINT NOT NULL DEFAULT 0,
    broken_reason TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_verification (id) VALUES (1);

-- Append-only: no UPDATE or DELETE, except the one-time sealing of an old
-- entry (its hash from NULL to a value, nothing else changed).
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.hash IS NULL AND NEW.hash IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor_id IS OLD.actor_id
    AND NEW.actor_name IS OLD.actor_name AND NEW.actor_system IS OLD.actor_system
    AND NEW.action IS OLD.action AND NEW.object_type IS OLD.object_type
    AND NEW.object_id IS OLD.object_id AND NEW.outcome IS OLD.outcome
    AND NEW.ip IS OLD.ip AND NEW.detail IS OLD.detail)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_verification;
DROP TABLE audit_head;
ALTER TABLE audit_log DROP COLUMN hash;
