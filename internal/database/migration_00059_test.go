package database_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestMigration00059AnnouncesWhatRequestUsersAreReadFrom: every change of
// what the statement finding a request's user reads (auth.UserBySession)
// is announced on crm_session_cache with the user's id, or "all"; a
// phone's heartbeat and a new session are not. PostgreSQL only: SQLite
// has no NOTIFY and keeps no request users in memory.
func TestMigration00059AnnouncesWhatRequestUsersAreReadFrom(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("SQLite: no NOTIFY, and no session cache to tell")
		}
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		conn, err := pgx.Connect(ctx, db.DSN())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "LISTEN crm_session_cache"); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// heard collects the payloads up to the marker sent after the change.
		heard := func() []string {
			t.Helper()
			exec(`SELECT pg_notify('crm_session_cache', 'end')`)
			var got []string
			for {
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				n, err := conn.WaitForNotification(wctx)
				cancel()
				if err != nil {
					t.Fatalf("waiting for the marker: %v", err)
				}
				if n.Payload == "end" {
					slices.Sort(got)
					return got
				}
				got = append(got, n.Payload)
			}
		}
		alisa, boris := strconv.FormatInt(cast.Alisa.ID, 10), strconv.FormatInt(cast.Boris.ID, 10)
		now := time.Now().UTC()
		exec(`INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) VALUES ('a1', $1, $2, $2, $2), ('a2', $1, $2, $2, $2), ('b1', $3, $2, $2, $2)`,
			cast.Alisa.ID, now, cast.Boris.ID)
		var device int64
		if err := db.QueryRowContext(ctx, `INSERT INTO phone_devices (user_id, token_hash, status, created_at) VALUES ($1, 'd', 'pending', $2) RETURNING id`,
			cast.Alisa.ID, now).Scan(&device); err != nil {
			t.Fatal(err)
		}
		heard()
		for _, tc := range []struct {
			name  string
			query string
			args  []any
			want  []string
		}{
			{"a new session", `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) VALUES ('a3', $1, $2, $2, $2)`, []any{cast.Alisa.ID, now}, nil},
			{"a session touched", `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = 'a1'`, []any{now}, []string{alisa}},
			{"a sign-out", `DELETE FROM sessions WHERE token_hash = 'a2'`, nil, []string{alisa}},
			{"a purge of two users' sessions", `DELETE FROM sessions WHERE token_hash IN ('a3', 'b1')`, nil, []string{alisa, boris}},
			{"a user's role", `UPDATE users SET role = 'admin' WHERE id = $1`, []any{cast.Alisa.ID}, []string{alisa}},
			{"a user's scope", `UPDATE users SET data_scope = 'global' WHERE id = $1`, []any{cast.Alisa.ID}, []string{alisa}},
			{"a user deactivated", `UPDATE users SET is_active = $1 WHERE id = $2`, []any{false, cast.Boris.ID}, []string{boris, "all"}}, // the forms' users: 00058's number
			{"a branch's time zone", `UPDATE branches SET time_zone = 'Asia/Omsk' WHERE id = $1`, []any{cast.BranchA}, []string{"all"}},
			{"a notification", `INSERT INTO notifications (user_id, kind, title, created_at) VALUES ($1, 'x', 'Привет', $2), ($1, 'x', 'Ещё', $2)`,
				[]any{cast.Alisa.ID, now}, []string{alisa}},
			{"notifications read", `UPDATE notifications SET is_read = $1 WHERE user_id = $2`, []any{true, cast.Alisa.ID}, []string{alisa}},
			{"notifications deleted", `DELETE FROM notifications WHERE user_id = $1`, []any{cast.Alisa.ID}, []string{alisa}},
			{"a phone paired", `UPDATE phone_devices SET status = 'active' WHERE id = $1`, []any{device}, []string{alisa}},
			{"a phone's heartbeat", `UPDATE phone_devices SET last_seen_at = $1 WHERE id = $2`, []any{now, device}, nil},
			{"a phone revoked", `UPDATE phone_devices SET status = 'revoked' WHERE id = $1`, []any{device}, []string{alisa}},
			{"a dictionary", `INSERT INTO spheres (name) VALUES ('Торговля')`, nil, []string{"all"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				exec(tc.query, tc.args...)
				got := heard()
				want := slices.Sorted(slices.Values(tc.want))
				if !slices.Equal(got, want) {
					t.Errorf("announced %q, want %q", got, want)
				}
			})
		}
	})
}
