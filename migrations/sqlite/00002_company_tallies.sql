-- +goose Up
-- Live companies counted per (branch, responsible, status), kept exact by
-- triggers, so that an unfiltered or dictionary-filtered list is counted
-- from a few hundred rows instead of the whole table. The access scope
-- applies to it unchanged: it has the same branch_id and responsible_id.
CREATE TABLE company_tallies (
    branch_id      BIGINT NOT NULL DEFAULT 0,
    responsible_id BIGINT NOT NULL DEFAULT 0,
    status_id      BIGINT NOT NULL DEFAULT 0,
    n              BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, responsible_id, status_id)
);

INSERT INTO company_tallies (branch_id, responsible_id, status_id, n)
SELECT COALESCE(branch_id, 0), COALESCE(responsible_id, 0), COALESCE(status_id, 0), COUNT(*)
FROM companies WHERE deleted_at IS NULL
GROUP BY COALESCE(branch_id, 0), COALESCE(responsible_id, 0), COALESCE(status_id, 0);

-- +goose StatementBegin
CREATE TRIGGER companies_tally_insert AFTER INSERT ON companies WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO company_tallies (branch_id, responsible_id, status_id, n)
    VALUES (COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), COALESCE(NEW.status_id, 0), 1)
    ON CONFLICT (branch_id, responsible_id, status_id) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER companies_tally_delete AFTER DELETE ON companies WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE company_tallies SET n = n - 1
    WHERE branch_id = COALESCE(OLD.branch_id, 0) AND responsible_id = COALESCE(OLD.responsible_id, 0)
      AND status_id = COALESCE(OLD.status_id, 0);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER companies_tally_update AFTER UPDATE OF branch_id, responsible_id, status_id, deleted_at ON companies
BEGIN
    UPDATE company_tallies SET n = n - 1
    WHERE OLD.deleted_at IS NULL AND branch_id = COALESCE(OLD.branch_id, 0)
      AND responsible_id = COALESCE(OLD.responsible_id, 0) AND status_id = COALESCE(OLD.status_id, 0);
    INSERT INTO company_tallies (branch_id, responsible_id, status_id, n)
    SELECT COALESCE(NEW.branch_id, 0), COALESCE(NEW.responsible_id, 0), COALESCE(NEW.status_id, 0), 1
    WHERE NEW.deleted_at IS NULL
    ON CONFLICT (branch_id, responsible_id, status_id) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER companies_tally_update;
DROP TRIGGER companies_tally_delete;
DROP TRIGGER companies_tally_insert;
DROP TABLE company_tallies;
