// Package dbtest gives tests real, migrated databases: a SQLite file in the
// test's temporary folder and, when CRM_TEST_POSTGRES_URL is set, a fresh
// PostgreSQL database cloned from a migrated template.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/migrations"
)

// EnvPostgres names the variable holding an admin URL of a PostgreSQL server
// (for example postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable).
const EnvPostgres = "CRM_TEST_POSTGRES_URL"

// Dialects lists the databases tests run on: SQLite always, PostgreSQL when
// CRM_TEST_POSTGRES_URL is set.
func Dialects() []database.Dialect {
	if os.Getenv(EnvPostgres) != "" {
		return []database.Dialect{database.SQLite, database.Postgres}
	}
	return []database.Dialect{database.SQLite}
}

// Each runs fn as a subtest per dialect, each with its own fresh database.
func Each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, New(t, d))
		})
	}
}

// New returns a migrated, empty database of the dialect, removed when the
// test ends.
func New(tb testing.TB, d database.Dialect) *database.DB {
	tb.Helper()
	db, err := database.Open(context.Background(), URL(tb, d))
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// Twice returns one fresh migrated database of the dialect opened through
// two handles, as two processes (two `crm serve` on one database) would
// have it; both are closed when the test ends.
func Twice(tb testing.TB, d database.Dialect) (db, other *database.DB) {
	tb.Helper()
	url := URL(tb, d)
	open := func() *database.DB {
		h, err := database.Open(context.Background(), url)
		if err != nil {
			tb.Fatalf("open %s: %v", d, err)
		}
		tb.Cleanup(func() { _ = h.Close() })
		return h
	}
	return open(), open()
}

// URL returns a URL of a fresh migrated database of the dialect, for tests
// that open it themselves or start the real binary on it.
func URL(tb testing.TB, d database.Dialect) string {
	tb.Helper()
	switch d {
	case database.SQLite:
		return newSQLite(tb)
	case database.Postgres:
		return newPostgres(tb)
	}
	tb.Fatalf("unknown dialect %q", d)
	return ""
}

// newSQLite copies the migrated template file into the test's temporary
// folder. Migrating every test's database from scratch cost about a
// second each under -race (River's migrations included); a copy costs
// milliseconds.
func newSQLite(tb testing.TB) string {
	tb.Helper()
	tpl, err := sqliteTemplate()
	if err != nil {
		tb.Fatalf("sqlite template: %v", err)
	}
	b, err := os.ReadFile(tpl) //nolint:gosec // a path made here from a hash
	if err != nil {
		tb.Fatalf("sqlite template: %v", err)
	}
	path := filepath.Join(tb.TempDir(), "crm.db")
	if err := os.WriteFile(path, b, 0o600); err != nil { //nolint:gosec // the test's own temporary folder
		tb.Fatalf("sqlite template: %v", err)
	}
	return "sqlite:" + path
}

// sqliteTemplate returns the path of the migrated SQLite template for the
// current migrations, building it when no test binary has yet. Like the
// PostgreSQL template it is named by the schema's fingerprint, so test
// binaries of one schema share it and another schema gets its own; it is
// built under a temporary name and renamed when complete.
func sqliteTemplate() (string, error) {
	sqliteTpl.Lock()
	defer sqliteTpl.Unlock()
	if sqliteTpl.path != "" {
		if _, err := os.Stat(sqliteTpl.path); err == nil {
			return sqliteTpl.path, nil
		}
	}
	sum, err := schemaFingerprint(database.SQLite)
	if err != nil {
		return "", err
	}
	path := filepath.Join(os.TempDir(), "crm_tpl_sqlite_"+sum+".db")
	if _, err := os.Stat(path); err == nil {
		sqliteTpl.path = path
		return path, nil
	}
	building := path + "." + randomSuffix()
	ctx := context.Background()
	db, err := database.Open(ctx, "sqlite:"+building)
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, nil)
	if err == nil {
		// Everything into the main file, so that the file alone is the
		// database.
		_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(building, path)
	}
	_ = os.Remove(building + "-wal")
	_ = os.Remove(building + "-shm")
	if err != nil {
		_ = os.Remove(building)
		return "", err
	}
	sqliteTpl.path = path
	return path, nil
}

// sqliteTpl caches the path of the SQLite template.
var sqliteTpl struct {
	sync.Mutex
	path string
}

// template caches the name of the migrated template database; it is
// looked up again when another test binary (of another schema) swept it.
var template struct {
	sync.Mutex
	name string
}

// templateFor returns the template database, creating it when missing or
// when fresh is set (the cached one was dropped under us).
func templateFor(ctx context.Context, adminDB *sql.DB, admin string, fresh bool) (string, error) {
	template.Lock()
	defer template.Unlock()
	if template.name != "" && !fresh {
		return template.name, nil
	}
	name, err := ensureTemplate(ctx, adminDB, admin)
	if err != nil {
		return "", err
	}
	template.name = name
	return name, nil
}

// newPostgres clones the migrated template database into a fresh one that
// is dropped when the test ends.
func newPostgres(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		tb.Fatalf("%s is not set", EnvPostgres)
	}
	ctx := context.Background()
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	defer func() { _ = adminDB.Close() }()
	if err := adminDB.PingContext(ctx); err != nil {
		tb.Fatalf("postgres at %s is not reachable: %v", admin, err)
	}
	tpl, err := templateFor(ctx, adminDB, admin, false)
	if err != nil {
		tb.Fatalf("postgres template: %v", err)
	}
	name := "crm_test_" + randomSuffix()
	// Concurrent clones of one template can collide for a moment
	// ("source database is being accessed by other users"): retry. A test
	// binary of another schema may have swept our template: build it again.
	for attempt := 0; ; attempt++ {
		_, err = adminDB.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tpl)) //nolint:gosec // both names are made here from hex digits
		if err != nil && attempt < 5 && strings.Contains(err.Error(), "does not exist") {
			if tpl, err = templateFor(ctx, adminDB, admin, true); err != nil {
				break
			}
			continue
		}
		if err == nil || attempt == 50 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer func() { _ = db.Close() }()
		_, _ = db.ExecContext(context.Background(), fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	})
	return withDatabase(admin, name)
}

// templateLock is the advisory lock key that serialises template creation
// across concurrently running test binaries.
const templateLock = 0x63726d74706c // "crmtpl"

// ensureTemplate returns the template database for the current migrations,
// creating and migrating it when no test binary has done so yet. Its name
// is derived from the migration files, so a schema change gets a new
// template and concurrent test binaries share one safely.
func ensureTemplate(ctx context.Context, adminDB *sql.DB, admin string) (string, error) {
	sum, err := schemaFingerprint(database.Postgres)
	if err != nil {
		return "", err
	}
	name := "crm_tpl_" + sum

	conn, err := adminDB.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, templateLock); err != nil {
		return "", err
	}
	defer func() { _, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, templateLock) }()

	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	_, _ = conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building))
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return "", err
	}
	db, err := database.Open(ctx, withDatabase(admin, building))
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, nil)
	_ = db.Close()
	if err != nil {
		return "", err
	}
	// Renamed only once complete, so a half-migrated template is never cloned.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name)); err != nil {
		return "", err
	}
	sweepTemplates(ctx, conn, name)
	return name, nil
}

// schemaFingerprint identifies the schema tests get on dialect d: a hash
// of its migration files and of River's migration version.
func schemaFingerprint(d database.Dialect) (string, error) {
	fsys, err := migrations.For(string(d))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	err = fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "river %d", database.RiverVersion(d))
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// sweepTemplates drops templates of older schemas that nobody is cloning.
func sweepTemplates(ctx context.Context, conn *sql.Conn, keep string) {
	rows, err := conn.QueryContext(ctx, `SELECT datname FROM pg_database WHERE (datname LIKE 'crm_tpl_%' OR datname LIKE 'crm_template_%') AND datname <> $1`, keep)
	if err != nil {
		return
	}
	defer func() { _ = rows.Close() }()
	var old []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			old = append(old, n)
		}
	}
	if rows.Err() != nil {
		return
	}
	for _, n := range old {
		_, _ = conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s`, n))
	}
}

func withDatabase(admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
