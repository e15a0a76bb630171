-- +goose Up
-- The audit chain is kept in several independent lanes, so that audited
-- writes of unrelated actions do not queue for one head row until commit
-- (internal/audit/chain.go). An entry belongs to a lane and has its
-- number there (seq, 1, 2, … without gaps); each lane chains its own
-- entries and has its own head in audit_lane. The existing chain becomes
-- lane 0 unchanged: its entries keep their hashes, seq = id. The hash
-- encoding does not change either.
ALTER TABLE audit_log ADD COLUMN lane INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log SET seq = id;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
CREATE UNIQUE INDEX audit_log_lane_seq_idx ON audit_log (lane, seq);

-- One row per lane: its head (the last entry's seq, id and hash; sealed
-- is false only on lane 0 while entries from before the chain have no
-- hash) and how far the admin page's incremental check has verified it.
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
INSERT INTO audit_lane (lane) SELECT generate_series(1, 15);
DROP TABLE audit_head;
ALTER TABLE audit_verification DROP COLUMN verified_id;
ALTER TABLE audit_verification DROP COLUMN verified_hash;
ALTER TABLE audit_verification ADD COLUMN broken_lane INTEGER NOT NULL DEFAULT 0;

-- The chain handed out ids itself; from now on the identity sequence
-- does, under the lane's lock.
SELECT setval(pg_get_serial_sequence('audit_log', 'id'), COALESCE((SELECT MAX(id) FROM audit_log), 0) + 1, false);

-- The one-time sealing of an old entry may not change its lane or seq.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.hash IS NULL AND NEW.hash IS NOT NULL
           AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_name, NEW.actor_system, NEW.action,
                NEW.object_type, NEW.object_id, NEW.outcome, NEW.ip, NEW.detail, NEW.lane, NEW.seq)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.at, OLD.actor_id, OLD.actor_name, OLD.actor_system, OLD.action,
                OLD.object_type, OLD.object_id, OLD.outcome, OLD.ip, OLD.detail, OLD.lane, OLD.seq) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- Back to one chain: only a log whose entries are all in lane 0 goes
-- back whole; entries of other lanes stay, and verify finds them.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
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
