-- +goose Up
-- Groups of likely duplicates are stored when the pairs are written, not
-- computed on every read of the admin page «Дубли» (8–11 s for its first
-- page on a few hundred thousand companies, all of it union-find over
-- every pair).
--
-- duplicate_groups holds each group — a connected component of
-- duplicate_pairs — under the smallest company id in it, with its best
-- score and its size in companies and pairs. duplicate_pairs.group_id is
-- the group of the pair; 0 is a pair not grouped yet (the pairs stored
-- before this migration): the re-check job groups them on its next run.
ALTER TABLE duplicate_pairs ADD COLUMN group_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX duplicate_pairs_group_idx ON duplicate_pairs (group_id, score DESC, a_id, b_id);

-- The pairs lose their foreign keys: a full scan writes millions of them,
-- and checking each against companies (a locking read per key) took 60 %
-- of the write. Companies are never deleted (deleting marks them, and the
-- marking triggers have the re-check remove their pairs); the pairs are a
-- derived table that every full scan rewrites.
ALTER TABLE duplicate_pairs DROP CONSTRAINT duplicate_pairs_a_id_fkey, DROP CONSTRAINT duplicate_pairs_b_id_fkey;

CREATE TABLE duplicate_groups (
    id         BIGINT PRIMARY KEY,
    score      DOUBLE PRECISION NOT NULL,
    size       BIGINT NOT NULL,
    pair_count BIGINT NOT NULL
);
CREATE INDEX duplicate_groups_order_idx ON duplicate_groups (score DESC, size DESC, id);

-- +goose Down
DROP TABLE duplicate_groups;
DELETE FROM duplicate_pairs p WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = p.a_id)
    OR NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = p.b_id);
ALTER TABLE duplicate_pairs ADD CONSTRAINT duplicate_pairs_a_id_fkey FOREIGN KEY (a_id) REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT duplicate_pairs_b_id_fkey FOREIGN KEY (b_id) REFERENCES companies (id) ON DELETE CASCADE;
DROP INDEX duplicate_pairs_group_idx;
ALTER TABLE duplicate_pairs DROP COLUMN group_id;
