-- +goose Up
-- What planning an import (internal/amoimport, plan*.go) needs of
-- import_rows besides the contract of 00021:
--
-- name_norm is dedup.NormalizeName of a company row's name — the key the
-- base stores in companies.name_norm — so that a row is matched against
-- the base by an indexed join (name_key, the file's own key, keeps the
-- legal form in front: "ооо|ромашка"); created_by_id is the CRM user the
-- row's «Создатель»/«Кем создан» matched (NULL when unknown or empty).
--
-- A company row the plan adds for a contact's company that no company row
-- names has line 0: it is no line of the file (its reason names the
-- contact's line).
ALTER TABLE import_rows ADD COLUMN name_norm TEXT NOT NULL DEFAULT '';
ALTER TABLE import_rows ADD COLUMN created_by_id BIGINT;

-- Planning reads the rows one entity at a time, and links contacts to
-- companies by the name key.
CREATE INDEX import_rows_entity_idx ON import_rows (import_id, kind, entity, number);
CREATE INDEX import_rows_name_key_idx ON import_rows (import_id, name_key);

-- +goose Down
DROP INDEX import_rows_name_key_idx;
DROP INDEX import_rows_entity_idx;
ALTER TABLE import_rows DROP COLUMN created_by_id;
ALTER TABLE import_rows DROP COLUMN name_norm;
