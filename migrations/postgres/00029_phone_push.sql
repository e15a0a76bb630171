-- +goose Up
-- A problem of the push channel (FCM) that only an administrator can fix:
-- the service account belongs to another Firebase project than the app
-- (SENDER_ID_MISMATCH), or its key was refused. One row per provider while
-- the problem lasts; a successful send removes it. /readyz shows it and
-- the administrators are told once per problem (notifications' dedup key).
CREATE TABLE phone_push_problems (
    provider   TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    since      TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE phone_push_problems;
