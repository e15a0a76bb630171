-- +goose Up
-- PostgreSQL adds id to company_phones_company_idx for the list page's
-- first phone (by position, then id). SQLite's index entries already end
-- in the rowid, which id is, so its index stays as it is.
SELECT 1;

-- +goose Down
SELECT 1;
