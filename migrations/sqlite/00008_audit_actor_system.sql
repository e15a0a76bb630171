-- +goose Up
-- Work the application does on its own (background jobs, commands) is
-- audited under a named system actor: actor_id stays NULL, actor_name
-- names the job ("job:purge"), and this flag tells it from a user whose
-- account was deleted since (also NULL, name kept).
ALTER TABLE audit_log ADD COLUMN actor_system BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN actor_system;
