-- +goose Up
-- A large export of the base, run as a job: who asked (only they may
-- download it), what (the list's query as JSON, the format), how far it
-- got, and the file, kept until expires_at and then purged.
CREATE TABLE exports (
    id          INTEGER PRIMARY KEY,
    created_by  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    format      TEXT NOT NULL,
    query       TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL DEFAULT 'queued',
    total       BIGINT NOT NULL DEFAULT 0,
    row_count   BIGINT NOT NULL DEFAULT 0,
    file_path   TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    finished_at DATETIME,
    expires_at  DATETIME NOT NULL
);
CREATE INDEX exports_created_by_idx ON exports (created_by, id);
CREATE INDEX exports_expires_idx ON exports (expires_at);

-- +goose Down
DROP TABLE exports;
