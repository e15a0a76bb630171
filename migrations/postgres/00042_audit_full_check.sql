-- +goose Up
-- The last full check of the audit chain (every lane from its first
-- entry: the daily River job audit.verify or "crm audit verify"): when,
-- how many entries held, and the first broken link if one did not.
ALTER TABLE audit_verification ADD COLUMN full_checked_at TIMESTAMPTZ;
ALTER TABLE audit_verification ADD COLUMN full_entries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_verification ADD COLUMN full_broken_lane INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_verification ADD COLUMN full_broken_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_verification ADD COLUMN full_broken_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_verification DROP COLUMN full_broken_reason;
ALTER TABLE audit_verification DROP COLUMN full_broken_id;
ALTER TABLE audit_verification DROP COLUMN full_broken_lane;
ALTER TABLE audit_verification DROP COLUMN full_entries;
ALTER TABLE audit_verification DROP COLUMN full_checked_at;
