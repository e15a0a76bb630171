-- +goose Up
-- Live companies counted per (UTC month of created_at, branch,
-- responsible), kept exact by triggers in the writing transaction (and by
-- company.Store's bulk path, which switches the INSERT trigger off as in
-- migration 00023). The desk's chart «Новые компании по месяцам» of
-- someone who sees the whole base counted half a million companies
-- through companies_created_idx for its twelve columns; from this table
-- it sums a few thousand rows, and counts from the index only the hours
-- between a UTC month's start and the viewer's (task.NewCompaniesByMonth).
-- branch_id and responsible_id are company_tallies' (0 for none), so the
-- access scope applies to it unchanged. month is year * 12 + month - 1;
-- created_at is stored in UTC, which strftime reads.
CREATE TABLE company_months (
    month          INTEGER NOT NULL,
    branch_id      BIGINT NOT NULL DEFAULT 0,
    responsible_id BIGINT NOT NULL DEFAULT 0,
    n              BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, branch_id, responsible_id)
);

INSERT INTO company_months (month, branch_id, responsible_id, n)
SELECT CAST(strftime('%Y', created_at) AS INTEGER) * 12 + CAST(strftime('%m', created_at) AS INTEGER) - 1,
    COALESCE(branch_id, 0), COALESCE(responsible_id, 0), COUNT(*)
FROM companies WHERE deleted_at IS NULL
GROUP BY 1, 2, 3;

-- +goose StatementBegin
CREATE TRIGGER companies_month_tally_insert AFTER INSERT ON companies
WHEN NEW.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM bulk_writes)
BEGIN
    INSERT INTO company_months (month, branch_id, responsible_id, n)
    VALUES (CAST(strftime('%Y', NEW.created_at) AS INTEGER) * 12 + CAST(strftime('%m', NEW.created_at) AS INTEGER) - 1,
        COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), 1)
    ON CONFLICT (month, branch_id, responsible_id) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER companies_month_tally_delete AFTER DELETE ON companies WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE company_months SET n = n - 1
    WHERE month = CAST(strftime('%Y', OLD.created_at) AS INTEGER) * 12 + CAST(strftime('%m', OLD.created_at) AS INTEGER) - 1
      AND branch_id = COALESCE(OLD.branch_id, 0) AND responsible_id = COALESCE(OLD.responsible_id, 0);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER companies_month_tally_update AFTER UPDATE OF branch_id, responsible_id, deleted_at, created_at ON companies
WHEN OLD.branch_id IS NOT NEW.branch_id OR OLD.responsible_id IS NOT NEW.responsible_id
    OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR OLD.created_at <> NEW.created_at
BEGIN
    UPDATE company_months SET n = n - 1
    WHERE OLD.deleted_at IS NULL
      AND month = CAST(strftime('%Y', OLD.created_at) AS INTEGER) * 12 + CAST(strftime('%m', OLD.created_at) AS INTEGER) - 1
      AND branch_id = COALESCE(OLD.branch_id, 0) AND responsible_id = COALESCE(OLD.responsible_id, 0);
    INSERT INTO company_months (month, branch_id, responsible_id, n)
    SELECT CAST(strftime('%Y', NEW.created_at) AS INTEGER) * 12 + CAST(strftime('%m', NEW.created_at) AS INTEGER) - 1,
        COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), 1
    WHERE NEW.deleted_at IS NULL
    ON CONFLICT (month, branch_id, responsible_id) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER companies_month_tally_update;
DROP TRIGGER companies_month_tally_delete;
DROP TRIGGER companies_month_tally_insert;
DROP TABLE company_months;
