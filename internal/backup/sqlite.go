package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmprofi/crm/internal/database"
)

// createSQLite writes a snapshot of db to tmp with VACUUM INTO: one read
// transaction on the live file (writers go on meanwhile, WAL keeps their
// pages apart), whose result is a compact, self-contained database file.
// The manifest is counted from that file, so it describes exactly what
// the backup holds.
func createSQLite(ctx context.Context, db *database.DB, tmp string, m *Manifest) error {
	var version string
	if err := db.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&version); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO $1`, tmp); err != nil {
		return fmt.Errorf("VACUUM INTO: %w", err)
	}
	m.Tool = "VACUUM INTO (SQLite " + version + ")"
	// Counted without an integrity check: the file is SQLite's own fresh
	// output, and the check (the larger part of a backup's time: 1 GB
	// takes tens of seconds of CPU) belongs to Verify and Restore, which
	// run it on the file as it is then.
	c, err := readSQLiteFile(ctx, tmp, false)
	if err != nil {
		return err
	}
	m.Schema, m.Tables, m.AuditHead, m.AuditLanes = c.Schema, c.Tables, c.AuditHead, c.AuditLanes
	return nil
}

// inspectSQLiteFile opens a SQLite file read-only, checks its integrity
// and reads its contents.
func inspectSQLiteFile(ctx context.Context, path string) (contents, error) {
	return readSQLiteFile(ctx, path, true)
}

// readSQLiteFile opens a SQLite file read-only and reads its contents,
// after SQLite's integrity check when check is set.
func readSQLiteFile(ctx context.Context, path string, check bool) (contents, error) {
	db, err := sql.Open("sqlite", readOnlyDSN(path))
	if err != nil {
		return contents{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()
	if check {
		if err := integrity(ctx, db, path); err != nil {
			return contents{}, err
		}
	}
	return readContents(ctx, db, database.SQLite)
}

// readOnlyDSN opens a SQLite file for reading only: the file is not
// switched to WAL and gets no -wal or -shm beside it.
func readOnlyDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=busy_timeout(10000)"
}

// integrity runs SQLite's integrity check on a file.
func integrity(ctx context.Context, db *sql.DB, path string) error {
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&res); err != nil {
		return fmt.Errorf("копия %s повреждена: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("копия %s повреждена: проверка целостности SQLite: %s", path, res)
	}
	return nil
}

// SQLitePath is the file of a sqlite: database URL, "" for PostgreSQL.
func SQLitePath(rawURL string) string {
	raw := strings.TrimSpace(rawURL)
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		return ""
	}
	return strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite://"), "sqlite:")
}

// restoreSQLite puts the backup file in place of the empty database at
// target, after checking the backup's integrity and, with fits, that its
// schema version is one to restore.
func restoreSQLite(ctx context.Context, file, target string, fits func(schema int64) error) error {
	if err := sqliteEmpty(ctx, target); err != nil {
		return err
	}
	c, err := inspectSQLiteFile(ctx, file)
	if err != nil {
		return err
	}
	if fits != nil {
		if err := fits(c.Schema); err != nil {
			return err
		}
	}
	if dir := filepath.Dir(target); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("папка базы: %w", err)
		}
	}
	// An empty database may have left an empty WAL and its index; the
	// restored file must not be read through them.
	for _, side := range []string{target + "-wal", target + "-shm"} {
		if err := os.Remove(side); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("восстановление: %w", err)
		}
	}
	return copyAtomic(file, target)
}

// sqliteEmpty refuses a target file that holds any table, or a WAL with
// data in it.
func sqliteEmpty(ctx context.Context, target string) error {
	st, err := os.Stat(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("база %s: %w", target, err)
	}
	if st.Size() > 0 {
		db, err := sql.Open("sqlite", readOnlyDSN(target))
		if err != nil {
			return fmt.Errorf("база %s: %w", target, err)
		}
		defer func() { _ = db.Close() }()
		names, err := tableNames(ctx, db, database.SQLite)
		if err != nil {
			return fmt.Errorf("база %s не пуста и не читается как SQLite (%w): восстановление возможно только в пустую базу", target, err)
		}
		if len(names) > 0 {
			return notEmpty(target, names)
		}
	}
	if wal, err := os.Stat(target + "-wal"); err == nil && wal.Size() > 0 {
		return fmt.Errorf("база %s не пуста: рядом с ней журнал %s с данными; восстановление возможно только в пустую базу — укажите новый файл", target, target+"-wal")
	}
	return nil
}

// notEmpty is the refusal to restore over a database that has tables.
func notEmpty(target string, names []string) error {
	sample := names
	if len(sample) > 3 {
		sample = sample[:3]
	}
	return fmt.Errorf("база %s не пуста: в ней %d таблиц (%s…); восстановление возможно только в пустую базу — укажите новый файл SQLite или создайте пустую базу PostgreSQL (createdb)",
		target, len(names), strings.Join(sample, ", "))
}
