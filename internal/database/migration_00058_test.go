package database_test

import (
	"context"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestMigration00058BumpsTheDictionaryVersion: every change of what the
// company forms' dictionaries show grows dictionary_version's number in
// the writing statement; a user's sign-in, password or time zone does
// not.
func TestMigration00058BumpsTheDictionaryVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		version := func() int64 {
			t.Helper()
			var v int64
			if err := db.QueryRowContext(ctx, `SELECT version FROM dictionary_version`).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		for _, tc := range []struct {
			name  string
			query string
			args  []any
			bumps bool
		}{
			{"a new status", `INSERT INTO company_statuses (name, position) VALUES ('Новый', 1)`, nil, true},
			{"a status moved", `UPDATE company_statuses SET position = 2 WHERE name = 'Новый'`, nil, true},
			{"a status deleted", `DELETE FROM company_statuses WHERE name = 'Новый'`, nil, true},
			{"a new sphere", `INSERT INTO spheres (name) VALUES ('Торговля')`, nil, true},
			{"a sphere renamed", `UPDATE spheres SET name = 'Опт' WHERE name = 'Торговля'`, nil, true},
			{"a sphere deleted", `DELETE FROM spheres WHERE name = 'Опт'`, nil, true},
			{"a new branch", `INSERT INTO branches (code, name, time_zone) VALUES ('C', 'Филиал В', 'Europe/Samara')`, nil, true},
			{"a branch renamed", `UPDATE branches SET name = 'Филиал В (Самара)' WHERE code = 'C'`, nil, true},
			{"a branch deleted", `DELETE FROM branches WHERE code = 'C'`, nil, true},
			{"a new user", `INSERT INTO users (username, first_name, last_name, email, password_hash, role, data_scope, date_joined)
				VALUES ('egor', 'Егор', 'Ежов', 'egor@example.ru', '', 'manager', 'self', CURRENT_TIMESTAMP)`, nil, true},
			{"a user's first name", `UPDATE users SET first_name = 'Алевтина' WHERE id = $1`, []any{cast.Alisa.ID}, true},
			{"a user's last name", `UPDATE users SET last_name = 'Аксакова' WHERE id = $1`, []any{cast.Alisa.ID}, true},
			{"a user's login", `UPDATE users SET username = 'alisa2' WHERE id = $1`, []any{cast.Alisa.ID}, true},
			{"a user's branch", `UPDATE users SET branch_id = $1 WHERE id = $2`, []any{cast.BranchB, cast.Alisa.ID}, true},
			{"a user deactivated", `UPDATE users SET is_active = $1 WHERE id = $2`, []any{false, cast.Vera.ID}, true},
			{"a user deleted", `DELETE FROM users WHERE username = 'egor'`, nil, true},
			{"a sign-in", `UPDATE users SET last_login = CURRENT_TIMESTAMP WHERE id = $1`, []any{cast.Boris.ID}, false},
			{"a new password", `UPDATE users SET password_hash = 'x', must_change_password = $1 WHERE id = $2`, []any{true, cast.Boris.ID}, false},
			{"a user's own time zone", `UPDATE users SET time_zone = 'Asia/Omsk' WHERE id = $1`, []any{cast.Boris.ID}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := version()
				if _, err := db.ExecContext(ctx, tc.query, tc.args...); err != nil {
					t.Fatal(err)
				}
				if after := version(); (after > before) != tc.bumps {
					t.Errorf("version %d -> %d, want a bump: %v", before, after, tc.bumps)
				}
			})
		}
	})
}

// TestMigration00058GoesDownAndUp: going down from 00058 (after the
// migrations above it) drops the table and its triggers, and migrating up
// again gives them back, counting from 1.
func TestMigration00058GoesDownAndUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		p, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 57); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `SELECT version FROM dictionary_version`); err == nil {
			t.Fatal("dictionary_version is still there after 00058 went down")
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ('Сельское хозяйство')`); err != nil {
			t.Fatalf("a sphere without 00058's triggers: %v", err)
		}
		_, latest, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := db.Migrate(ctx, nil); err != nil || int64(n) != latest-57 {
			t.Fatalf("migrate: %d applied, %v; want 00058 and those after it (%d)", n, err, latest-57)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ('Торговля')`); err != nil {
			t.Fatal(err)
		}
		var v int64
		if err := db.QueryRowContext(ctx, `SELECT version FROM dictionary_version`).Scan(&v); err != nil || v != 2 {
			t.Fatalf("version %d, %v; want 2 (one sphere after a fresh 1)", v, err)
		}
	})
}
