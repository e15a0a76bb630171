-- +goose Up
-- PostgreSQL only: triggers that announce, by NOTIFY, the changes that
-- make a process's remembered request users stale (auth.SessionCache).
-- SQLite has no NOTIFY and no such memory: finding a request's user is a
-- call into the database in this very process, cheap enough as it is.
-- The file exists so that both folders list the same migrations.
SELECT 1;

-- +goose Down
SELECT 1;
