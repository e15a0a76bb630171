-- +goose Up
-- The company list and forms offer the statuses, spheres, branches and
-- active users; every page read them again although they almost never
-- change. dictionary_version is one row whose number grows, in the
-- writing transaction, with every change of what those lists show, so
-- that a process may keep the lists and read them again only when the
-- number it reads with the caller's session differs — exact across the
-- processes that share the database, where a time-to-live would guess.
-- Users bump it only through the columns the lists read: a sign-in
-- (last_login), a password or a session does not. SQLite's triggers run
-- once a row.
CREATE TABLE dictionary_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO dictionary_version (id, version) VALUES (1, 1);

-- +goose StatementBegin
CREATE TRIGGER company_statuses_dictionary_version_insert AFTER INSERT ON company_statuses
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER company_statuses_dictionary_version_update AFTER UPDATE ON company_statuses
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER company_statuses_dictionary_version_delete AFTER DELETE ON company_statuses
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER spheres_dictionary_version_insert AFTER INSERT ON spheres
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER spheres_dictionary_version_update AFTER UPDATE ON spheres
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER spheres_dictionary_version_delete AFTER DELETE ON spheres
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER branches_dictionary_version_insert AFTER INSERT ON branches
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER branches_dictionary_version_update AFTER UPDATE ON branches
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER branches_dictionary_version_delete AFTER DELETE ON branches
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_dictionary_version_insert AFTER INSERT ON users
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_dictionary_version_delete AFTER DELETE ON users
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_dictionary_version_update AFTER UPDATE OF username, first_name, last_name, is_active, branch_id ON users
BEGIN
    UPDATE dictionary_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_dictionary_version_insert;
DROP TRIGGER users_dictionary_version_update;
DROP TRIGGER users_dictionary_version_delete;
DROP TRIGGER branches_dictionary_version_insert;
DROP TRIGGER branches_dictionary_version_update;
DROP TRIGGER branches_dictionary_version_delete;
DROP TRIGGER spheres_dictionary_version_insert;
DROP TRIGGER spheres_dictionary_version_update;
DROP TRIGGER spheres_dictionary_version_delete;
DROP TRIGGER company_statuses_dictionary_version_insert;
DROP TRIGGER company_statuses_dictionary_version_update;
DROP TRIGGER company_statuses_dictionary_version_delete;
DROP TABLE dictionary_version;
