-- +goose Up
-- «Позвонить с телефона». A pairing is a one-time link shown as a QR code:
-- its secret is kept only as a SHA-256 hash, it lives five minutes, and a
-- few wrong secrets lock it. The phone that claims it becomes a device,
-- active once the user confirms the code shown on both screens.
CREATE TABLE phone_devices (
    id            INTEGER PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL DEFAULT '',
    os            TEXT NOT NULL DEFAULT '',
    app_version   TEXT NOT NULL DEFAULT '',
    install_id    TEXT NOT NULL DEFAULT '',
    token_hash    TEXT NOT NULL,
    push_provider TEXT NOT NULL DEFAULT 'none',
    push_token    TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'pending',
    revoke_reason TEXT NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL,
    activated_at  DATETIME,
    revoked_at    DATETIME,
    last_seen_at  DATETIME,
    CHECK (status IN ('pending', 'active', 'revoked'))
);
CREATE INDEX phone_devices_user_idx ON phone_devices (user_id);
-- One active phone per user: pairing a new one revokes the old.
CREATE UNIQUE INDEX phone_devices_one_active ON phone_devices (user_id) WHERE status = 'active';

CREATE TABLE phone_pairings (
    id           INTEGER PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash  TEXT NOT NULL,
    confirm_code TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    device_id    BIGINT REFERENCES phone_devices (id) ON DELETE SET NULL,
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    CHECK (status IN ('pending', 'claimed', 'active', 'rejected', 'expired'))
);
CREATE INDEX phone_pairings_user_idx ON phone_pairings (user_id);

-- A call request: the number a user wants dialled on their phone. One
-- open request per user (a new one supersedes it); the key makes a
-- repeated POST return the same request.
CREATE TABLE phone_call_requests (
    id              INTEGER PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id       BIGINT NOT NULL REFERENCES phone_devices (id) ON DELETE CASCADE,
    idempotency_key TEXT,
    phone_e164      TEXT NOT NULL,
    phone_ext       TEXT NOT NULL DEFAULT '',
    phone_display   TEXT NOT NULL,
    company_id      BIGINT REFERENCES companies (id) ON DELETE SET NULL,
    contact_id      BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
    company_name    TEXT NOT NULL DEFAULT '',
    contact_name    TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending',
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    expires_at      DATETIME NOT NULL,
    CHECK (status IN ('pending', 'sent', 'delivered', 'opened', 'dialed', 'cancelled',
        'expired', 'failed', 'superseded', 'withdrawn'))
);
CREATE UNIQUE INDEX phone_call_requests_key ON phone_call_requests (user_id, idempotency_key);
CREATE UNIQUE INDEX phone_call_requests_one_open ON phone_call_requests (user_id)
    WHERE status IN ('pending', 'sent', 'delivered', 'opened');
CREATE INDEX phone_call_requests_device_idx ON phone_call_requests (device_id, status);

-- What happened to a request, in order: the server's steps and the
-- phone's acknowledgements. A phone's event_id is unique per request, so
-- a repeated acknowledgement finds its first answer (status_after); a
-- late one is kept with late = true and changed nothing.
CREATE TABLE phone_call_events (
    id           INTEGER PRIMARY KEY,
    request_id   BIGINT NOT NULL REFERENCES phone_call_requests (id) ON DELETE CASCADE,
    event_id     TEXT,
    type         TEXT NOT NULL,
    channel      TEXT NOT NULL DEFAULT '',
    device_at    DATETIME,
    at           DATETIME NOT NULL,
    late         BOOLEAN NOT NULL DEFAULT FALSE,
    status_after TEXT NOT NULL
);
CREATE UNIQUE INDEX phone_call_events_event ON phone_call_events (request_id, event_id);

-- +goose Down
DROP TABLE phone_call_events;
DROP TABLE phone_call_requests;
DROP TABLE phone_pairings;
DROP TABLE phone_devices;
