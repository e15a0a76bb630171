package backup_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/backup"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/note"
)

// emptyTarget returns the URL of an empty database of the dialect to
// restore into: a file that does not exist yet, or a new PostgreSQL
// database dropped when the test ends.
func emptyTarget(t *testing.T, d database.Dialect) string {
	t.Helper()
	if d == database.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "restored", "crm.db")
	}
	ctx := context.Background()
	admin, err := database.Open(ctx, os.Getenv(dbtest.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "crm_restore_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		_ = admin.Close()
	})
	u := os.Getenv(dbtest.EnvPostgres)
	i := strings.Index(u[len("postgres://"):], "/") + len("postgres://")
	rest := u[i+1:]
	if q := strings.Index(rest, "?"); q >= 0 {
		return u[:i+1] + name + rest[q:]
	}
	return u[:i+1] + name
}

func backupFile(t *testing.T, db *database.DB) string {
	t.Helper()
	ext := ".db"
	if db.Dialect == database.Postgres {
		ext = ".dump"
	}
	return filepath.Join(t.TempDir(), "crm"+ext)
}

// TestBackupUnderWriteLoad backs up a base while writers commit companies,
// each with its note in the same transaction, restores the backup and
// finds every company committed before the backup began, no company
// without its note (no half transaction), and the manifest's counts.
func TestBackupUnderWriteLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		companies, notes := company.NewStore(db), note.NewStore(db)

		var (
			mu        sync.Mutex
			committed []int64
			stop      = make(chan struct{})
			wg        sync.WaitGroup
			failures  = make(chan error, 8)
		)
		write := func(w, i int) error {
			var id int64
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				c, err := companies.WithTx(tx).Create(ctx, cast.Admin.Scope, company.Input{
					Name:             company.OptString{Set: true, Value: fmt.Sprintf("Нагрузка %d-%d", w, i)},
					ConfirmDuplicate: true,
				})
				if err != nil {
					return err
				}
				id = c.ID
				_, err = notes.WithTx(tx).Create(ctx, cast.Admin.Scope, note.Input{Company: c.ID, Text: "заметка той же транзакции"})
				return err
			})
			if err != nil {
				return err
			}
			// Recorded once the commit returned: committed for sure.
			mu.Lock()
			committed = append(committed, id)
			mu.Unlock()
			return nil
		}
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					err := write(w, i)
					if err != nil && strings.Contains(err.Error(), "SQLITE_BUSY") {
						// The writers are the load, not the subject: on a
						// machine short of CPU one can starve past the
						// busy timeout while the others take turns. Only
						// a commit counts, so it just goes again; a backup
						// that blocked writers still fails waitFor.
						continue
					}
					if err != nil {
						failures <- err
						return
					}
				}
			}()
		}
		waitFor := func(n int) {
			t.Helper()
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				mu.Lock()
				got := len(committed)
				mu.Unlock()
				if got >= n {
					return
				}
			}
			t.Fatalf("writers committed fewer than %d companies in a minute", n)
		}
		waitFor(40)
		mu.Lock()
		before := append([]int64(nil), committed...)
		mu.Unlock()

		file := backupFile(t, db)
		m, err := backup.Create(ctx, db, file, backup.Options{})
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("backup under load: %v", err)
		}
		waitFor(len(before) + 20) // the writers went on during and after the backup
		close(stop)
		wg.Wait()
		close(failures)
		for err := range failures {
			t.Fatalf("writer: %v", err)
		}

		target := emptyTarget(t, db.Dialect)
		if _, err := backup.Restore(ctx, target, file, backup.Options{}); err != nil {
			t.Fatalf("restore: %v", err)
		}
		restored, err := database.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = restored.Close() }()
		ids := map[int64]bool{}
		rows, err := restored.QueryContext(ctx, `SELECT c.id, (SELECT count(*) FROM company_notes n WHERE n.company_id = c.id)
			FROM companies c WHERE c.name LIKE 'Нагрузка %'`)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var id, n int64
			if err := rows.Scan(&id, &n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("company %d has %d notes in the backup, want 1: a transaction was split", id, n)
			}
			ids[id] = true
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for _, id := range before {
			if !ids[id] {
				t.Errorf("company %d was committed before the backup began but is missing from it", id)
			}
		}
		if int64(len(ids)) != m.Tables["companies"] {
			t.Errorf("backup holds %d companies, its manifest says %d", len(ids), m.Tables["companies"])
		}
		if m.Tables["companies"] < int64(len(before)) {
			t.Errorf("manifest counts %d companies, %d were committed before the backup", m.Tables["companies"], len(before))
		}
		t.Logf("%d companies committed before the backup, %d in it, %d in all", len(before), len(ids), len(committed))

		r, err := backup.Verify(ctx, file, os.Getenv(dbtest.EnvPostgres), backup.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() {
			t.Fatalf("verify of a good backup: %v", r.Problems)
		}
	})
}

func TestRestoreRefusesANonEmptyDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		file := backupFile(t, db)
		if _, err := backup.Create(ctx, db, file, backup.Options{}); err != nil {
			t.Fatal(err)
		}
		// The migrated source itself is not empty.
		url := "sqlite:" + strings.TrimPrefix(strings.SplitN(db.DSN(), "?", 2)[0], "file:")
		if db.Dialect == database.Postgres {
			url = db.DSN()
		}
		_, err := backup.Restore(ctx, url, file, backup.Options{})
		if err == nil || !strings.Contains(err.Error(), "не пуста") {
			t.Fatalf("restore into a non-empty database: %v, want a refusal", err)
		}
	})
}

func TestBackupRefusesToOverwrite(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	file := backupFile(t, db)
	if err := os.WriteFile(file, []byte("старая копия"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := backup.Create(context.Background(), db, file, backup.Options{})
	if err == nil || !strings.Contains(err.Error(), "уже есть") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "старая копия" { //nolint:gosec // the test's file
		t.Fatal("the existing file was touched")
	}
}

func TestPostgresBackupNeedsAFittingPgDump(t *testing.T) {
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip(dbtest.EnvPostgres + " is not set")
	}
	db := dbtest.New(t, database.Postgres)
	ctx := context.Background()

	t.Run("no pg_dump on PATH is named as missing", func(t *testing.T) {
		file := backupFile(t, db)
		_, err := backup.Create(ctx, db, file, backup.Options{PathEnv: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "pg_dump не найден в PATH") {
			t.Fatalf("err = %v", err)
		}
		assertNoFiles(t, filepath.Dir(file))
	})
	t.Run("a pg_dump older than the server is refused by name", func(t *testing.T) {
		bin := t.TempDir()
		script := "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"
		if err := os.WriteFile(filepath.Join(bin, "pg_dump"), []byte(script), 0o700); err != nil { //nolint:gosec // a test tool must be executable
			t.Fatal(err)
		}
		file := backupFile(t, db)
		_, err := backup.Create(ctx, db, file, backup.Options{PathEnv: bin})
		if err == nil || !strings.Contains(err.Error(), "версии 9 старше сервера PostgreSQL") {
			t.Fatalf("err = %v", err)
		}
		assertNoFiles(t, filepath.Dir(file))
	})
	t.Run("a pg_dump that fails midway leaves no file", func(t *testing.T) {
		bin := t.TempDir()
		script := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 99.1'; exit 0; fi\n" +
			"for a; do case $a in --file=*) echo half > \"${a#--file=}\";; esac; done\necho 'pg_dump: error: connection lost' >&2; exit 1\n"
		if err := os.WriteFile(filepath.Join(bin, "pg_dump"), []byte(script), 0o700); err != nil { //nolint:gosec // a test tool must be executable
			t.Fatal(err)
		}
		file := backupFile(t, db)
		_, err := backup.Create(ctx, db, file, backup.Options{PathEnv: bin})
		if err == nil || !strings.Contains(err.Error(), "connection lost") {
			t.Fatalf("err = %v", err)
		}
		assertNoFiles(t, filepath.Dir(file))
	})
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a failed backup left %s", e.Name())
	}
}

func TestCorruptedBackups(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		for i := range 30 {
			if _, err := company.NewStore(db).Create(ctx, cast.Admin.Scope, company.Input{
				Name: company.OptString{Set: true, Value: fmt.Sprintf("Ромашка %d", i)}, ConfirmDuplicate: true,
			}); err != nil {
				t.Fatal(err)
			}
		}
		server := os.Getenv(dbtest.EnvPostgres)
		good := backupFile(t, db)
		if _, err := backup.Create(ctx, db, good, backup.Options{}); err != nil {
			t.Fatal(err)
		}
		content, err := os.ReadFile(good) //nolint:gosec // the test's file
		if err != nil {
			t.Fatal(err)
		}
		manifest, err := os.ReadFile(backup.ManifestPath(good)) //nolint:gosec // the test's file
		if err != nil {
			t.Fatal(err)
		}
		// variant writes a copy of the backup, changed by edit, with the
		// manifest changed by editManifest.
		variant := func(t *testing.T, edit func([]byte) []byte, editManifest func(*backup.Manifest)) string {
			t.Helper()
			file := filepath.Join(t.TempDir(), filepath.Base(good))
			if err := os.WriteFile(file, edit(append([]byte(nil), content...)), 0o600); err != nil {
				t.Fatal(err)
			}
			var m backup.Manifest
			if err := json.Unmarshal(manifest, &m); err != nil {
				t.Fatal(err)
			}
			if editManifest != nil {
				editManifest(&m)
			}
			b, _ := json.Marshal(m)
			if err := os.WriteFile(backup.ManifestPath(file), b, 0o600); err != nil {
				t.Fatal(err)
			}
			return file
		}
		verify := func(t *testing.T, file string) backup.Report {
			t.Helper()
			r, err := backup.Verify(ctx, file, server, backup.Options{})
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var out strings.Builder
			r.Write(&out)
			t.Log(out.String())
			return r
		}
		wantProblem := func(t *testing.T, r backup.Report, text string) {
			t.Helper()
			if r.OK() {
				t.Fatalf("verify passed a bad backup")
			}
			if !strings.Contains(strings.Join(r.Problems, "\n"), text) {
				t.Fatalf("problems %q do not mention %q", r.Problems, text)
			}
		}

		t.Run("the untouched backup passes", func(t *testing.T) {
			if r := verify(t, variant(t, func(b []byte) []byte { return b }, nil)); !r.OK() {
				t.Fatalf("problems: %v", r.Problems)
			}
		})
		t.Run("a truncated backup fails", func(t *testing.T) {
			r := verify(t, variant(t, func(b []byte) []byte { return b[:len(b)*2/3] }, nil))
			wantProblem(t, r, "обрезана")
			wantProblem(t, r, "не восстанавливается")
		})
		t.Run("a changed byte fails the checksum", func(t *testing.T) {
			r := verify(t, variant(t, func(b []byte) []byte { b[len(b)/2] ^= 0x55; return b }, nil))
			wantProblem(t, r, "SHA-256")
		})
		t.Run("a count that differs from the manifest fails", func(t *testing.T) {
			r := verify(t, variant(t, func(b []byte) []byte { return b }, func(m *backup.Manifest) { m.Tables["companies"] = 31 }))
			wantProblem(t, r, "таблица companies: в копии 30 строк, при записи было 31")
		})
		t.Run("a lane of the audit chain that ends elsewhere than the manifest says fails", func(t *testing.T) {
			var m backup.Manifest
			if err := json.Unmarshal(manifest, &m); err != nil {
				t.Fatal(err)
			}
			if len(m.AuditLanes) < 2 || m.AuditHead == nil {
				t.Fatalf("the manifest names %d lanes of the audit chain (head %+v), want several", len(m.AuditLanes), m.AuditHead)
			}
			lane := m.AuditLanes[1]
			r := verify(t, variant(t, func(b []byte) []byte { return b }, func(m *backup.Manifest) { m.AuditLanes[1].Seq++ }))
			wantProblem(t, r, fmt.Sprintf("ветвь %d цепочки журнала аудита: в копии последняя №%d", lane.Lane, lane.Seq))
		})
		t.Run("a missing manifest is named", func(t *testing.T) {
			file := variant(t, func(b []byte) []byte { return b }, nil)
			if err := os.Remove(backup.ManifestPath(file)); err != nil {
				t.Fatal(err)
			}
			if _, err := backup.Verify(ctx, file, server, backup.Options{}); err == nil || !strings.Contains(err.Error(), "нет описания копии") {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a file that is no backup is refused by restore", func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "junk.db")
			if err := os.WriteFile(file, []byte("это не копия, а просто текст"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := backup.Restore(ctx, emptyTarget(t, db.Dialect), file, backup.Options{})
			if err == nil || !strings.Contains(err.Error(), "не похож на резервную копию") {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a truncated backup is refused by restore and leaves the target empty", func(t *testing.T) {
			file := variant(t, func(b []byte) []byte { return b[:len(b)/2] }, nil)
			target := emptyTarget(t, db.Dialect)
			_, err := backup.Restore(ctx, target, file, backup.Options{})
			if err == nil {
				t.Fatal("restore of a truncated backup succeeded")
			}
			t.Log(err)
			if p := backup.SQLitePath(target); p != "" {
				if _, err := os.Stat(p); err == nil {
					t.Fatal("a truncated SQLite backup was put in place")
				}
				return
			}
			tdb, err := database.Open(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tdb.Close() }()
			var n int
			if err := tdb.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("a failed restore left %d tables", n)
			}
		})
		t.Run("a backup of the other database is refused", func(t *testing.T) {
			other := database.SQLite
			if db.Dialect == database.SQLite {
				if server == "" {
					t.Skip("no PostgreSQL")
				}
				other = database.Postgres
			}
			_, err := backup.Restore(ctx, emptyTarget(t, other), good, backup.Options{})
			if err == nil || !strings.Contains(err.Error(), "база назначения") {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestStatusCheck(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	good := &backup.Good{File: "crm-1.dump", At: now.Add(-3 * time.Hour)}
	tests := []struct {
		name   string
		status backup.Status
		want   string // "" for healthy
	}{
		{"no backup yet is unhealthy", backup.Status{}, "ещё нет"},
		{"a first failed attempt says why", backup.Status{LastAttempt: now, Error: "pg_dump не найден"}, "pg_dump не найден"},
		{"a fresh good backup is healthy", backup.Status{LastAttempt: good.At, OK: true, LastGood: good}, ""},
		{"a failed attempt after a good one is unhealthy", backup.Status{LastAttempt: now, Error: "диск полон", LastGood: good}, "диск полон"},
		{"a good backup older than the limit is stale", backup.Status{LastAttempt: now.Add(-30 * time.Hour), OK: true,
			LastGood: &backup.Good{File: "crm-0.dump", At: now.Add(-30 * time.Hour)}}, "больше допустимых"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.status.Check(now, 26*time.Hour)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
