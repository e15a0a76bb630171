package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// olderSchema is the schema a backup of an older CRM is made at: the one
// before the tamper-evident audit chain (00025_audit_chain), so that
// bringing the copy up to date also has to seal the audit entries it
// holds.
const olderSchema = 24

// migrateTo applies our migrations up to version, as an older binary
// would have left the base.
func migrateTo(t *testing.T, db *database.DB, version int64) {
	t.Helper()
	p, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatalf("migrate up to %d: %v", version, err)
	}
}

// oldRows are the rows written at the older schema, by table, as
// "id|text" lines to compare with the restored base.
type oldRows map[string][]string

// fillOlderBase writes a small base with the older schema's columns only:
// an administrator, companies with a contact and a note each, and an
// audit entry per company (without a hash: the chain does not exist yet).
func fillOlderBase(t *testing.T, db *database.DB) {
	t.Helper()
	ctx := context.Background()
	now := database.Now()
	var admin int64
	if err := db.QueryRowContext(ctx, `INSERT INTO users (username, first_name, last_name, role, date_joined)
		VALUES ('chief', 'Олег', 'Орлов', 'admin', $1) RETURNING id`, now).Scan(&admin); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		at := now.Add(time.Duration(i) * time.Second)
		name := fmt.Sprintf("Старая компания %02d", i)
		var company int64
		if err := db.QueryRowContext(ctx, `INSERT INTO companies (name, name_norm, inn, responsible_id, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4, $5, $5) RETURNING id`, name, strings.ToLower(name), fmt.Sprintf("77%08d", i), admin, at).Scan(&company); err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO contacts (company_id, last_name, first_name, name_norm, created_by, created_at, updated_at)
				VALUES ($1, $2, 'Анна', $3, $4, $5, $5)`, []any{company, fmt.Sprintf("Иванова-%02d", i), fmt.Sprintf("иванова-%02d анна", i), admin, at}},
			{`INSERT INTO company_notes (company_id, author_id, text, created_at) VALUES ($1, $2, $3, $4)`,
				[]any{company, admin, fmt.Sprintf("Заметка к компании %02d", i), at}},
			{`INSERT INTO audit_log (at, actor_id, actor_name, action, object_type, object_id, ip, detail)
				VALUES ($1, $2, 'Олег Орлов', 'company.create', 'company', $3, '192.0.2.7', '{}')`, []any{at, admin, fmt.Sprint(company)}},
		} {
			if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
	}
}

// readOldRows reads what fillOlderBase wrote (and whatever else is in
// those tables), in id order.
func readOldRows(t *testing.T, db *database.DB) oldRows {
	t.Helper()
	rows := oldRows{}
	read := func(table, cols string) {
		rs, err := db.QueryContext(context.Background(), `SELECT id, `+cols+` FROM `+table+` ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rs.Close() }()
		for rs.Next() {
			var (
				id   int64
				text string
			)
			if err := rs.Scan(&id, &text); err != nil {
				t.Fatal(err)
			}
			rows[table] = append(rows[table], fmt.Sprintf("%d|%s", id, text))
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for table, cols := range map[string]string{
		"users":         "username || '|' || first_name || '|' || role",
		"companies":     "name || '|' || inn || '|' || COALESCE(responsible_id, 0)",
		"contacts":      "last_name || '|' || first_name || '|' || COALESCE(company_id, 0)",
		"company_notes": "text || '|' || company_id",
		"audit_log":     "action || '|' || object_id || '|' || actor_name || '|' || ip",
	} {
		read(table, cols)
	}
	return rows
}

// TestRestoreOfAnOlderSchema backs up a base an older CRM left (our
// migrations only up to olderSchema, data in it), restores the backup
// into an empty database and brings it to the current schema the normal
// way (crm restore migrates as crm serve does; crm migrate then finds
// nothing to do): every row is there and the audit chain, which did not
// exist in the copy, holds over the old entries.
func TestRestoreOfAnOlderSchema(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			src := emptyDatabase(t, d)
			db, err := database.Open(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			migrateTo(t, db, olderSchema)
			fillOlderBase(t, db)
			want := readOldRows(t, db)
			_ = db.Close()

			file := filepath.Join(t.TempDir(), "old.backup")
			out, _, err := runBackupCmd(t, src, nil, "backup", "--verify", file)
			if err != nil || !strings.Contains(out, fmt.Sprintf("схема %d", olderSchema)) || !strings.Contains(out, "Копия проверена") {
				t.Fatalf("backup of the older base: %v\n%s", err, out)
			}

			target := emptyDatabase(t, d)
			out, _, err = runBackupCmd(t, target, nil, "restore", file)
			if err != nil {
				t.Fatalf("restore: %v\n%s", err, out)
			}
			if !strings.Contains(out, fmt.Sprintf("сделана более старой версией CRM (схема версии %d); схема обновлена до версии", olderSchema)) {
				t.Fatalf("restore of an older backup says %q", out)
			}
			out, err = runCrm(t, target, "", "migrate")
			if err != nil {
				t.Fatal(err)
			}
			rdb, err := database.Open(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rdb.Close() }()
			cur, latest, err := rdb.MigrationStatus(ctx)
			if err != nil || cur != latest || cur <= olderSchema {
				t.Fatalf("restored schema %d of %d: %v", cur, latest, err)
			}
			if !strings.Contains(out, fmt.Sprintf("версия %d из %d", latest, latest)) {
				t.Fatalf("crm migrate after the restore: %q", out)
			}
			got := readOldRows(t, rdb)
			for table, rows := range want {
				if strings.Join(got[table], "\n") != strings.Join(rows, "\n") {
					t.Errorf("%s after restore and migrate:\n%s\nwant\n%s", table, strings.Join(got[table], "\n"), strings.Join(rows, "\n"))
				}
			}

			out, err = runCrm(t, target, "", "audit", "verify")
			if err != nil || !strings.Contains(out, "цела") {
				t.Fatalf("crm audit verify of the restored base: %v\n%s", err, out)
			}
			n, err := audit.Verify(ctx, rdb)
			if err != nil || n < int64(len(want["audit_log"])) {
				t.Fatalf("audit chain of the restored base: %d entries, %v", n, err)
			}
		})
	}
}

// TestRestoreRefusesANewerSchema: a backup made by a newer CRM (a schema
// version this binary does not know) is refused with a clear message
// before the target is touched, on both databases.
func TestRestoreRefusesANewerSchema(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			src := dbtest.URL(t, d)
			db, err := database.Open(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			_, latest, err := db.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, $2)`, latest+7, true); err != nil {
				t.Fatal(err)
			}
			_ = db.Close()
			file := filepath.Join(t.TempDir(), "newer.backup")
			if out, _, err := runBackupCmd(t, src, nil, "backup", file); err != nil {
				t.Fatalf("backup: %v\n%s", err, out)
			}

			target := emptyDatabase(t, d)
			_, _, err = runBackupCmd(t, target, nil, "restore", file)
			wantMsg := fmt.Sprintf("сделана более новой версией CRM: схема копии — версия %d, а эта версия CRM знает схему только до версии %d", latest+7, latest)
			if err == nil || !strings.Contains(err.Error(), wantMsg) || !strings.Contains(err.Error(), "База назначения не тронута") {
				t.Fatalf("restore of a newer backup: %v", err)
			}
			if p := strings.TrimPrefix(target, "sqlite:"); d == database.SQLite {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Fatalf("the refused restore left %s: %v", p, err)
				}
				return
			}
			tdb, err := database.Open(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tdb.Close() }()
			var tables int
			if err := tdb.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables); err != nil || tables != 0 {
				t.Fatalf("the refused restore left %d tables: %v", tables, err)
			}
		})
	}
}
