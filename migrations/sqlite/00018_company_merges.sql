-- +goose Up
-- A merged company is kept, marked as merged into the one that survived,
-- and also deleted (deleted_at), so every list, search and count leaves it
-- out without knowing about merges; the trash leaves out merged ones.
ALTER TABLE companies ADD COLUMN merged_into BIGINT;
ALTER TABLE companies ADD COLUMN merged_at DATETIME;
CREATE INDEX companies_merged_into_idx ON companies (merged_into) WHERE merged_into IS NOT NULL;
-- A merge moves a company's trashed contacts too; the contacts' company
-- index holds only live ones, so the trashed get their own (small) one.
CREATE INDEX contacts_company_trash_idx ON contacts (company_id) WHERE deleted_at IS NOT NULL;

-- One row per merge: what undo needs to put everything back. survivor
-- holds the survivor's fields and phones, e-mails and spheres (with their
-- row ids) as they were before the merge, as JSON; contact_ids, note_ids
-- and task_ids are the exact rows moved from the absorbed company. A merge
-- can be undone until undone_at is set, for 30 days.
CREATE TABLE company_merges (
    id          INTEGER PRIMARY KEY,
    survivor_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    absorbed_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    actor_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    merged_at   DATETIME NOT NULL,
    fields      TEXT NOT NULL DEFAULT '{}',
    survivor    TEXT NOT NULL DEFAULT '{}',
    contact_ids TEXT NOT NULL DEFAULT '[]',
    note_ids    TEXT NOT NULL DEFAULT '[]',
    task_ids    TEXT NOT NULL DEFAULT '[]',
    undone_at   DATETIME,
    undone_by   BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX company_merges_survivor_idx ON company_merges (survivor_id, id);
CREATE INDEX company_merges_absorbed_idx ON company_merges (absorbed_id, id);

-- +goose Down
DROP TABLE company_merges;
DROP INDEX contacts_company_trash_idx;
DROP INDEX companies_merged_into_idx;
ALTER TABLE companies DROP COLUMN merged_at;
ALTER TABLE companies DROP COLUMN merged_into;
