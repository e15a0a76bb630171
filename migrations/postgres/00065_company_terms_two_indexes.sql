-- +goose Up
-- SQLite's migration of the same name makes company_terms WITHOUT ROWID,
-- keyed by its search index, as 00063 made contact_terms. PostgreSQL
-- keeps the table: its heap is no B-tree, and 00063 already dropped its
-- foreign key.
SELECT 1;

-- +goose Down
SELECT 1;
