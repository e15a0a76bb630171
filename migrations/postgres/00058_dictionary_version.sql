-- +goose Up
-- The company list and forms offer the statuses, spheres, branches and
-- active users; every page read them again although they almost never
-- change. dictionary_version is one row whose number grows, in the
-- writing transaction, with every change of what those lists show, so
-- that a process may keep the lists and read them again only when the
-- number it reads with the caller's session differs — exact across the
-- processes that share the database, where a time-to-live would guess.
-- Users bump it only through the columns the lists read: a sign-in
-- (last_login), a password or a session does not. The triggers run once
-- a statement (a bulk insert bumps once); a statement that changed no
-- row bumps all the same, which costs one needless read of the lists.
CREATE TABLE dictionary_version (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO dictionary_version (id, version) VALUES (1, 1);

-- +goose StatementBegin
CREATE FUNCTION dictionary_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER company_statuses_dictionary_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON company_statuses
    FOR EACH STATEMENT EXECUTE FUNCTION dictionary_version_bump();
CREATE TRIGGER spheres_dictionary_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON spheres
    FOR EACH STATEMENT EXECUTE FUNCTION dictionary_version_bump();
CREATE TRIGGER branches_dictionary_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON branches
    FOR EACH STATEMENT EXECUTE FUNCTION dictionary_version_bump();
CREATE TRIGGER users_dictionary_version
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF username, first_name, last_name, is_active, branch_id ON users
    FOR EACH STATEMENT EXECUTE FUNCTION dictionary_version_bump();

-- +goose Down
DROP TRIGGER users_dictionary_version ON users;
DROP TRIGGER branches_dictionary_version ON branches;
DROP TRIGGER spheres_dictionary_version ON spheres;
DROP TRIGGER company_statuses_dictionary_version ON company_statuses;
DROP FUNCTION dictionary_version_bump();
DROP TABLE dictionary_version;
