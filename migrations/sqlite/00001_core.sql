-- +goose Up
CREATE TABLE branches (
    id        INTEGER PRIMARY KEY,
    code      TEXT NOT NULL,
    name      TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'Europe/Moscow',
    version   INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX branches_code_key ON branches (code);

CREATE TABLE company_statuses (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    version  INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX company_statuses_name_key ON company_statuses (name);

CREATE TABLE spheres (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX spheres_name_key ON spheres (name);

CREATE TABLE task_types (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX task_types_name_key ON task_types (name);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    role          TEXT NOT NULL DEFAULT 'manager',
    data_scope    TEXT NOT NULL DEFAULT 'global',
    branch_id     BIGINT REFERENCES branches (id) ON DELETE SET NULL,
    time_zone     TEXT NOT NULL DEFAULT '',
    date_joined   DATETIME NOT NULL,
    last_login    DATETIME,
    password_changed_at DATETIME,
    version       INTEGER NOT NULL DEFAULT 1,
    CHECK (role IN ('manager', 'branch_director', 'group_manager', 'admin')),
    CHECK (data_scope IN ('global', 'branch', 'self'))
);
-- Logins are matched case-insensitively; the application stores them lower-cased.
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE INDEX users_branch_idx ON users (branch_id);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    jti        TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME,
    revoked_at DATETIME
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE companies (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    name_norm       TEXT NOT NULL DEFAULT '',
    legal_name      TEXT NOT NULL DEFAULT '',
    legal_name_norm TEXT NOT NULL DEFAULT '',
    inn             TEXT NOT NULL DEFAULT '',
    kpp             TEXT NOT NULL DEFAULT '',
    ogrn            TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    address_norm    TEXT NOT NULL DEFAULT '',
    website         TEXT NOT NULL DEFAULT '',
    status_id       BIGINT REFERENCES company_statuses (id) ON DELETE SET NULL,
    branch_id       BIGINT REFERENCES branches (id) ON DELETE SET NULL,
    responsible_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    deleted_at      DATETIME,
    deleted_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX companies_name_idx ON companies (name_norm, id) WHERE deleted_at IS NULL;
CREATE INDEX companies_inn_idx ON companies (inn) WHERE deleted_at IS NULL AND inn <> '';
CREATE INDEX companies_responsible_idx ON companies (responsible_id, name_norm, id) WHERE deleted_at IS NULL;
CREATE INDEX companies_branch_idx ON companies (branch_id, name_norm, id) WHERE deleted_at IS NULL;
CREATE INDEX companies_status_idx ON companies (status_id) WHERE deleted_at IS NULL;
CREATE INDEX companies_created_idx ON companies (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX companies_updated_idx ON companies (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX companies_deleted_idx ON companies (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX companies_address_idx ON companies (address_norm) WHERE deleted_at IS NULL AND address_norm <> '';

CREATE TABLE company_spheres (
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    sphere_id  BIGINT NOT NULL REFERENCES spheres (id) ON DELETE CASCADE,
    PRIMARY KEY (company_id, sphere_id)
);
CREATE INDEX company_spheres_sphere_idx ON company_spheres (sphere_id, company_id);

CREATE TABLE company_phones (
    id         INTEGER PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL DEFAULT 0,
    value      TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'work',
    comment    TEXT NOT NULL DEFAULT '',
    e164       TEXT NOT NULL DEFAULT '',
    ext        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX company_phones_company_idx ON company_phones (company_id, position);
CREATE INDEX company_phones_e164_idx ON company_phones (e164) WHERE e164 <> '';

CREATE TABLE company_emails (
    id         INTEGER PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL DEFAULT 0,
    value      TEXT NOT NULL,
    value_norm TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT 'work'
);
CREATE INDEX company_emails_company_idx ON company_emails (company_id, position);
CREATE INDEX company_emails_norm_idx ON company_emails (value_norm) WHERE value_norm <> '';

-- Word-prefix search index over the normalised name and legal name: one row
-- per distinct word, searched by byte range so both databases use the index.
CREATE TABLE company_terms (
    term       TEXT NOT NULL,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    PRIMARY KEY (term, company_id)
);
CREATE INDEX company_terms_company_idx ON company_terms (company_id);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    company_id  BIGINT REFERENCES companies (id) ON DELETE SET NULL,
    last_name   TEXT NOT NULL DEFAULT '',
    first_name  TEXT NOT NULL DEFAULT '',
    middle_name TEXT NOT NULL DEFAULT '',
    name_norm   TEXT NOT NULL DEFAULT '',
    position    TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    deleted_at  DATETIME,
    deleted_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX contacts_company_idx ON contacts (company_id, name_norm, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_name_idx ON contacts (name_norm, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_created_by_idx ON contacts (created_by) WHERE deleted_at IS NULL;
CREATE INDEX contacts_deleted_idx ON contacts (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE contact_phones (
    id         INTEGER PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL DEFAULT 0,
    value      TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'mobile',
    comment    TEXT NOT NULL DEFAULT '',
    e164       TEXT NOT NULL DEFAULT '',
    ext        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX contact_phones_contact_idx ON contact_phones (contact_id, position);
CREATE INDEX contact_phones_e164_idx ON contact_phones (e164) WHERE e164 <> '';

CREATE TABLE contact_emails (
    id         INTEGER PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL DEFAULT 0,
    value      TEXT NOT NULL,
    value_norm TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT 'work',
    comment    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX contact_emails_contact_idx ON contact_emails (contact_id, position);
CREATE INDEX contact_emails_norm_idx ON contact_emails (value_norm) WHERE value_norm <> '';

CREATE TABLE contact_terms (
    term       TEXT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (term, contact_id)
);
CREATE INDEX contact_terms_contact_idx ON contact_terms (contact_id);

CREATE TABLE company_notes (
    id         INTEGER PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    author_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    note_type  TEXT NOT NULL DEFAULT 'note',
    text       TEXT NOT NULL,
    is_pinned  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME NOT NULL,
    edited_at  DATETIME,
    version    INTEGER NOT NULL DEFAULT 1,
    CHECK (note_type IN ('note', 'call_in', 'call_out', 'email_in', 'email_out', 'sms'))
);
CREATE INDEX company_notes_company_idx ON company_notes (company_id, is_pinned, created_at);
CREATE INDEX company_notes_author_idx ON company_notes (author_id);

-- Append-only: rows are inserted inside the audited action's transaction and never updated.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          DATETIME NOT NULL,
    actor_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor_name  TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT '',
    object_id   TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL DEFAULT 'ok',
    ip          TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}',
    CHECK (outcome IN ('ok', 'denied', 'error'))
);
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE company_notes;
DROP TABLE contact_terms;
DROP TABLE contact_emails;
DROP TABLE contact_phones;
DROP TABLE contacts;
DROP TABLE company_terms;
DROP TABLE company_emails;
DROP TABLE company_phones;
DROP TABLE company_spheres;
DROP TABLE companies;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE task_types;
DROP TABLE spheres;
DROP TABLE company_statuses;
DROP TABLE branches;
