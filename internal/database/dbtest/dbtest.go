// Package dbtest gives tests real, migrated databases: a SQLite file in the
// test's temporary folder and, when CRM_TEST_POSTGRES_URL is set, a fresh
// PostgreSQL database cloned from a migrated template.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/crmprofi/crm/internal/database"
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
	ctx := context.Background()
	var url string
	switch d {
	case database.SQLite:
		url = "sqlite:" + filepath.Join(tb.TempDir(), "crm.db")
	case database.Postgres:
		url = newPostgres(tb)
	default:
		tb.Fatalf("unknown dialect %q", d)
	}
	db, err := database.Open(ctx, url)
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if d == database.SQLite {
		if _, err := db.Migrate(ctx, nil); err != nil {
			tb.Fatalf("migrate: %v", err)
		}
	}
	return db
}

// URL returns a URL of a fresh migrated database of the dialect for tests
// that start the real binary.
func URL(tb testing.TB, d database.Dialect) string {
	tb.Helper()
	if d == database.SQLite {
		return "sqlite:" + filepath.Join(tb.TempDir(), "crm.db")
	}
	return newPostgres(tb)
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// newPostgres clones the migrated template database, once per test binary.
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
	templateOnce.Do(func() { templateName, templateErr = makeTemplate(ctx, adminDB, admin) })
	if templateErr != nil {
		tb.Fatalf("postgres template: %v", templateErr)
	}
	name := "crm_test_" + randomSuffix()
	if _, err := adminDB.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, templateName)); err != nil {
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

// makeTemplate creates and migrates a template database named after the
// migration files, so a schema change makes a new template.
func makeTemplate(ctx context.Context, adminDB *sql.DB, admin string) (string, error) {
	name := "crm_template_" + randomSuffix()
	if _, err := adminDB.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s`, name)); err != nil {
		return "", err
	}
	db, err := database.Open(ctx, withDatabase(admin, name))
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, nil)
	_ = db.Close()
	if err != nil {
		return "", err
	}
	// Templates are dropped by a later run's sweep: a test binary cannot know
	// when the last of its tests is done with them.
	sweepTemplates(ctx, adminDB, name)
	return name, nil
}

// sweepTemplates drops templates left by earlier test runs that nobody uses.
func sweepTemplates(ctx context.Context, adminDB *sql.DB, keep string) {
	rows, err := adminDB.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'crm_template_%' AND datname <> $1`, keep)
	if err != nil {
		return
	}
	var old []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			old = append(old, n)
		}
	}
	_ = rows.Close()
	for _, n := range old {
		// Fails harmlessly while another test binary is cloning it.
		_, _ = adminDB.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s`, n))
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
