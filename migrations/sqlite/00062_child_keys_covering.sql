-- +goose Up
-- PostgreSQL carries the phone's and the e-mail's key in their
-- company_id indexes, for the duplicate check's index-only reads. SQLite
-- need not: its reads are calls in the process, and its issue-6 figures
-- were not the duplicate check's.
SELECT 1;

-- +goose Down
SELECT 1;
