-- +goose Up
-- The reasons of a likely duplicate pair are written once per distinct
-- answer, not once per pair: see the PostgreSQL migration of the same
-- name. SQLite rebuilds the table for it, and makes it WITHOUT ROWID: a
-- pair is now a few numbers, and a table clustered on its primary key
-- (a_id, b_id) is written once per pair, where a rowid table wrote the
-- row and then the primary key's own index.
CREATE TABLE duplicate_reasons (
    id      INTEGER PRIMARY KEY,
    reasons TEXT NOT NULL UNIQUE
);
INSERT INTO duplicate_reasons (reasons) SELECT DISTINCT reasons FROM duplicate_pairs ORDER BY reasons;
CREATE TABLE duplicate_pairs_new (
    a_id       BIGINT NOT NULL,
    b_id       BIGINT NOT NULL,
    score      REAL NOT NULL,
    reasons_id BIGINT NOT NULL DEFAULT 0,
    fields     TEXT NOT NULL DEFAULT '',
    checked_at DATETIME NOT NULL,
    group_id   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (a_id, b_id),
    CHECK (a_id < b_id)
) WITHOUT ROWID;
INSERT INTO duplicate_pairs_new (a_id, b_id, score, reasons_id, fields, checked_at, group_id)
SELECT p.a_id, p.b_id, p.score, r.id, p.fields, p.checked_at, p.group_id
FROM duplicate_pairs p JOIN duplicate_reasons r ON r.reasons = p.reasons;
DROP TABLE duplicate_pairs;
ALTER TABLE duplicate_pairs_new RENAME TO duplicate_pairs;
CREATE INDEX duplicate_pairs_b_idx ON duplicate_pairs (b_id);
CREATE INDEX duplicate_pairs_group_idx ON duplicate_pairs (group_id, score DESC, a_id, b_id);

-- +goose Down
CREATE TABLE duplicate_pairs_old (
    a_id       BIGINT NOT NULL,
    b_id       BIGINT NOT NULL,
    score      REAL NOT NULL,
    reasons    TEXT NOT NULL DEFAULT '[]',
    fields     TEXT NOT NULL DEFAULT '',
    checked_at DATETIME NOT NULL,
    group_id   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (a_id, b_id),
    CHECK (a_id < b_id)
);
INSERT INTO duplicate_pairs_old (a_id, b_id, score, reasons, fields, checked_at, group_id)
SELECT p.a_id, p.b_id, p.score, r.reasons, p.fields, p.checked_at, p.group_id
FROM duplicate_pairs p JOIN duplicate_reasons r ON r.id = p.reasons_id;
DROP TABLE duplicate_pairs;
ALTER TABLE duplicate_pairs_old RENAME TO duplicate_pairs;
CREATE INDEX duplicate_pairs_b_idx ON duplicate_pairs (b_id);
CREATE INDEX duplicate_pairs_group_idx ON duplicate_pairs (group_id, score DESC, a_id, b_id);
DROP TABLE duplicate_reasons;
