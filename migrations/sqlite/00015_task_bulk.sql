-- +goose Up
-- What a bulk action on tasks changed, kept ten minutes so that «Отменить»
-- can put it back (POST /api/tasks/bulk/undo/). The token is shown to the
-- user once; only its SHA-256 is kept, bound to the user who acted. The
-- payload is JSON: per task its previous values and the version the action
-- left, so an undo never overwrites a later change. Times are Unix
-- milliseconds, compared as integers the same way by both databases; rows
-- stay a day after they expire so a late undo is told «expired», not
-- «unknown».
CREATE TABLE task_bulk_undo (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX task_bulk_undo_expires_idx ON task_bulk_undo (expires_ms);

-- +goose Down
DROP TABLE task_bulk_undo;
