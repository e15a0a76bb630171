-- +goose Up
-- PostgreSQL keeps a company's search words in two indexes instead of
-- three (the index by owner becomes the primary key). SQLite's table is
-- left as it is here.
SELECT 1;

-- +goose Down
SELECT 1;
