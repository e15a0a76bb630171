-- +goose Up
-- Every request finds its user with one statement (auth.Store.UserBySession,
-- RequestUser): the session, the user and their branch, the bell's unread
-- count, the dictionaries' number and whether the user has an active
-- phone. A PostgreSQL process keeps those answers in memory
-- (auth.SessionCache) and must forget one the moment anything it was read
-- from changes, in whichever process: these triggers announce such a
-- change on the channel crm_session_cache, in the writing transaction, so
-- that it reaches every listening process at commit, in commit order. The
-- payload is the affected user's id, or "all". NOTIFY folds identical
-- payloads of one transaction into one. Statements that touch many rows
-- (an expired-sessions purge, «прочитать все») notify once per user, or
-- "all" past 100 users.

-- +goose StatementBegin
CREATE FUNCTION session_cache_notify_users(ids BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n INTEGER := COALESCE(array_length(ids, 1), 0);
BEGIN
    IF n > 100 THEN
        PERFORM pg_notify('crm_session_cache', 'all');
    ELSIF n > 0 THEN
        PERFORM pg_notify('crm_session_cache', id::text) FROM unnest(ids) AS id;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION session_cache_notify_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM session_cache_notify_users(ARRAY(SELECT DISTINCT user_id FROM old_rows));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION session_cache_notify_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM session_cache_notify_users(ARRAY(SELECT DISTINCT user_id FROM new_rows));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION session_cache_notify_old_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM session_cache_notify_users(ARRAY(
        SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION session_cache_notify_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('crm_session_cache', OLD.user_id::text);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('crm_session_cache', NEW.user_id::text);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION session_cache_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crm_session_cache', OLD.id::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION session_cache_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crm_session_cache', 'all');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Sessions: a touch (expiry slid forward), a sign-out, a purge. A new
-- session was in no one's memory.
CREATE TRIGGER sessions_cache_update AFTER UPDATE ON sessions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_old();
CREATE TRIGGER sessions_cache_delete AFTER DELETE ON sessions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_old();
CREATE TRIGGER sessions_cache_truncate AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_all();

-- Users: every column of the user is read (auth's userColumns), so any
-- change of a row, or its removal, counts. Users are changed one at a time.
CREATE TRIGGER users_cache AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION session_cache_notify_user();
CREATE TRIGGER users_cache_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_all();

-- Branches: their name and time zone come with the user; they change
-- seldom, and a branch has many users, so every user is told.
CREATE TRIGGER branches_cache AFTER UPDATE OR DELETE OR TRUNCATE ON branches
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_all();

-- Notifications: the bell's unread count of their users.
CREATE TRIGGER notifications_cache_insert AFTER INSERT ON notifications REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_new();
CREATE TRIGGER notifications_cache_update AFTER UPDATE ON notifications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_old_new();
CREATE TRIGGER notifications_cache_delete AFTER DELETE ON notifications REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_old();
CREATE TRIGGER notifications_cache_truncate AFTER TRUNCATE ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_all();

-- Phones: whether the user has an active one. A phone's heartbeat
-- (last_seen_at) and push token change often and do not count.
CREATE TRIGGER phone_devices_cache_insert_delete AFTER INSERT OR DELETE ON phone_devices
    FOR EACH ROW EXECUTE FUNCTION session_cache_notify_row();
CREATE TRIGGER phone_devices_cache_update AFTER UPDATE OF status, user_id ON phone_devices
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION session_cache_notify_row();
CREATE TRIGGER phone_devices_cache_truncate AFTER TRUNCATE ON phone_devices
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_all();

-- The dictionaries' number: every user's.
CREATE TRIGGER dictionary_version_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dictionary_version
    FOR EACH STATEMENT EXECUTE FUNCTION session_cache_notify_all();

-- +goose Down
DROP TRIGGER dictionary_version_cache ON dictionary_version;
DROP TRIGGER phone_devices_cache_truncate ON phone_devices;
DROP TRIGGER phone_devices_cache_update ON phone_devices;
DROP TRIGGER phone_devices_cache_insert_delete ON phone_devices;
DROP TRIGGER notifications_cache_truncate ON notifications;
DROP TRIGGER notifications_cache_delete ON notifications;
DROP TRIGGER notifications_cache_update ON notifications;
DROP TRIGGER notifications_cache_insert ON notifications;
DROP TRIGGER branches_cache ON branches;
DROP TRIGGER users_cache_truncate ON users;
DROP TRIGGER users_cache ON users;
DROP TRIGGER sessions_cache_truncate ON sessions;
DROP TRIGGER sessions_cache_delete ON sessions;
DROP TRIGGER sessions_cache_update ON sessions;
DROP FUNCTION session_cache_notify_all();
DROP FUNCTION session_cache_notify_user();
DROP FUNCTION session_cache_notify_row();
DROP FUNCTION session_cache_notify_old_new();
DROP FUNCTION session_cache_notify_new();
DROP FUNCTION session_cache_notify_old();
DROP FUNCTION session_cache_notify_users(BIGINT[]);
