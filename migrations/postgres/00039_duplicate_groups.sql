-- +goose Up
-- Groups of likely duplicates are stored when the pairs are written, not
-- computed on every read of the admin page «Дубли» (8–11 s for its first
-- page on a few hundred thousand companies, all of it union-find over
-- every pair).
--
-- duplicate_groups holds each group — a connected component of
-- duplicate_pairs — under the smallest company id in it, with its best
-- score, its size in companies and pairs, and the fields of its pairs'
-- reasons (",inn,phone,") for the page's filter. duplicate_pairs.group_id
-- is the group of the pair; 0 is a pair not grouped yet (the pairs this
-- migration finds, and any written before a crash): the re-check job
-- groups them on its next run.
ALTER TABLE duplicate_pairs ADD COLUMN group_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX duplicate_pairs_group_idx ON duplicate_pairs (group_id, score DESC, a_id, b_id);

CREATE TABLE duplicate_groups (
    id         BIGINT PRIMARY KEY,
    score      DOUBLE PRECISION NOT NULL,
    size       BIGINT NOT NULL,
    pair_count BIGINT NOT NULL,
    fields     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX duplicate_groups_order_idx ON duplicate_groups (score DESC, size DESC, id);

-- +goose Down
DROP TABLE duplicate_groups;
DROP INDEX duplicate_pairs_group_idx;
ALTER TABLE duplicate_pairs DROP COLUMN group_id;
