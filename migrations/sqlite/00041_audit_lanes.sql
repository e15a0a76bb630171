-- +goose Up
-- The audit chain is kept in several independent lanes: see the
-- PostgreSQL migration of the same name. SQLite serialises writers
-- anyway; the lanes are the same on both databases.
ALTER TABLE audit_log ADD COLUMN lane INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
DROP TRIGGER audit_log_no_update;
UPDATE audit_log SET seq = id;
CREATE UNIQUE INDEX audit_log_lane_seq_idx ON audit_log (lane, seq);

CREATE TABLE audit_lane (
    lane          INTEGER PRIMARY KEY,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    last_id       BIGINT NOT NULL DEFAULT 0,
    last_hash     TEXT NOT NULL DEFAULT '',
    sealed        BOOLEAN NOT NULL DEFAULT TRUE,
    verified_seq  BIGINT NOT NULL DEFAULT 0,
    verified_hash TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_lane (lane, last_seq, last_id, last_hash, sealed, verified_seq, verified_hash)
SELECT 0, h.last_id, h.last_id, h.last_hash, h.sealed, v.verified_id, v.verified_hash
FROM audit_head h, audit_verification v;
INSERT INTO audit_lane (lane) VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15);
DROP TABLE audit_head;
ALTER TABLE audit_verification DROP COLUMN verified_id;
ALTER TABLE audit_verification DROP COLUMN verified_hash;
ALTER TABLE audit_verification ADD COLUMN broken_lane INTEGER NOT NULL DEFAULT 0;

-- The one-time sealing of an old entry may not change its lane or seq.
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.hash IS NULL AND NEW.hash IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor_id IS OLD.actor_id
    AND NEW.actor_name IS OLD.actor_name AND NEW.actor_system IS OLD.actor_system
    AND NEW.action IS OLD.action AND NEW.object_type IS OLD.object_type
    AND NEW.object_id IS OLD.object_id AND NEW.outcome IS OLD.outcome
    AND NEW.ip IS OLD.ip AND NEW.detail IS OLD.detail
    AND NEW.lane IS OLD.lane AND NEW.seq IS OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_no_update;
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_id   BIGINT NOT NULL,
    last_hash TEXT NOT NULL,
    sealed    BOOLEAN NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash, sealed)
SELECT 1, last_id, last_hash, sealed FROM audit_lane WHERE lane = 0;
ALTER TABLE audit_verification DROP COLUMN broken_lane;
ALTER TABLE audit_verification ADD COLUMN verified_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_verification ADD COLUMN verified_hash TEXT NOT NULL DEFAULT '';
DROP TABLE audit_lane;
DROP INDEX audit_log_lane_seq_idx;
ALTER TABLE audit_log DROP COLUMN seq;
ALTER TABLE audit_log DROP COLUMN lane;
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
