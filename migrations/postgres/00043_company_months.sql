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
-- access scope applies to it unchanged. month is year * 12 + month - 1.
CREATE TABLE company_months (
    month          INTEGER NOT NULL,
    branch_id      BIGINT NOT NULL DEFAULT 0,
    responsible_id BIGINT NOT NULL DEFAULT 0,
    n              BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, branch_id, responsible_id)
);

INSERT INTO company_months (month, branch_id, responsible_id, n)
SELECT (EXTRACT(YEAR FROM created_at AT TIME ZONE 'UTC') * 12 + EXTRACT(MONTH FROM created_at AT TIME ZONE 'UTC') - 1)::INTEGER,
    COALESCE(branch_id, 0), COALESCE(responsible_id, 0), COUNT(*)
FROM companies WHERE deleted_at IS NULL
GROUP BY 1, 2, 3;

-- +goose StatementBegin
CREATE FUNCTION company_month_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        UPDATE company_months SET n = n - 1
        WHERE month = (EXTRACT(YEAR FROM OLD.created_at AT TIME ZONE 'UTC') * 12
                + EXTRACT(MONTH FROM OLD.created_at AT TIME ZONE 'UTC') - 1)::INTEGER
          AND branch_id = COALESCE(OLD.branch_id, 0) AND responsible_id = COALESCE(OLD.responsible_id, 0);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.deleted_at IS NULL THEN
        INSERT INTO company_months AS t (month, branch_id, responsible_id, n)
        VALUES ((EXTRACT(YEAR FROM NEW.created_at AT TIME ZONE 'UTC') * 12
                + EXTRACT(MONTH FROM NEW.created_at AT TIME ZONE 'UTC') - 1)::INTEGER,
            COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), 1)
        ON CONFLICT (month, branch_id, responsible_id) DO UPDATE SET n = t.n + 1;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER companies_month_tally_insert AFTER INSERT ON companies
    FOR EACH ROW WHEN (current_setting('crm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION company_month_tally();
CREATE TRIGGER companies_month_tally_delete AFTER DELETE ON companies
    FOR EACH ROW EXECUTE FUNCTION company_month_tally();
CREATE TRIGGER companies_month_tally_update AFTER UPDATE OF branch_id, responsible_id, deleted_at, created_at ON companies
    FOR EACH ROW
    WHEN (OLD.branch_id IS DISTINCT FROM NEW.branch_id OR OLD.responsible_id IS DISTINCT FROM NEW.responsible_id
        OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR OLD.created_at <> NEW.created_at)
    EXECUTE FUNCTION company_month_tally();

-- +goose Down
DROP TRIGGER companies_month_tally_update ON companies;
DROP TRIGGER companies_month_tally_delete ON companies;
DROP TRIGGER companies_month_tally_insert ON companies;
DROP FUNCTION company_month_tally();
DROP TABLE company_months;
