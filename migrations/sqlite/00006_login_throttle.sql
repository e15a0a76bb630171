-- +goose Up
-- Failed sign-ins counted per login and address ("login <ip> <digest>")
-- and per address ("ip <ip>"), in fixed windows that start at the first
-- failure. In the database, not in one process's memory, so the counts
-- survive a restart and are shared by every `crm serve` on one database.
-- Times are Unix milliseconds: compared as integers the same way by both
-- databases.
CREATE TABLE login_throttle (
    subject    TEXT PRIMARY KEY,
    failures   INTEGER NOT NULL,
    started_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX login_throttle_expires_idx ON login_throttle (expires_ms);

-- +goose Down
DROP TABLE login_throttle;
