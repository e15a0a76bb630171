-- +goose Up
-- Groups of likely duplicates stored with the pairs, and the pairs without
-- foreign keys: see the PostgreSQL migration of the same name. SQLite
-- drops a foreign key by rebuilding the table.
CREATE TABLE duplicate_pairs_new (
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
INSERT INTO duplicate_pairs_new (a_id, b_id, score, reasons, fields, checked_at)
SELECT a_id, b_id, score, reasons, fields, checked_at FROM duplicate_pairs;
DROP TABLE duplicate_pairs;
ALTER TABLE duplicate_pairs_new RENAME TO duplicate_pairs;
CREATE INDEX duplicate_pairs_b_idx ON duplicate_pairs (b_id);
CREATE INDEX duplicate_pairs_group_idx ON duplicate_pairs (group_id, score DESC, a_id, b_id);

CREATE TABLE duplicate_groups (
    id         BIGINT PRIMARY KEY,
    score      REAL NOT NULL,
    size       BIGINT NOT NULL,
    pair_count BIGINT NOT NULL
);
CREATE INDEX duplicate_groups_order_idx ON duplicate_groups (score DESC, size DESC, id);

-- +goose Down
DROP TABLE duplicate_groups;
CREATE TABLE duplicate_pairs_old (
    a_id       BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    b_id       BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    score      REAL NOT NULL,
    reasons    TEXT NOT NULL DEFAULT '[]',
    fields     TEXT NOT NULL DEFAULT '',
    checked_at DATETIME NOT NULL,
    PRIMARY KEY (a_id, b_id),
    CHECK (a_id < b_id)
);
INSERT INTO duplicate_pairs_old (a_id, b_id, score, reasons, fields, checked_at)
SELECT a_id, b_id, score, reasons, fields, checked_at FROM duplicate_pairs p
WHERE EXISTS (SELECT 1 FROM companies c WHERE c.id = p.a_id) AND EXISTS (SELECT 1 FROM companies c WHERE c.id = p.b_id);
DROP TABLE duplicate_pairs;
ALTER TABLE duplicate_pairs_old RENAME TO duplicate_pairs;
CREATE INDEX duplicate_pairs_b_idx ON duplicate_pairs (b_id);
