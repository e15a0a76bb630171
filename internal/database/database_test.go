package database_test

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/migrations"
)

func TestBothDialectsHaveTheSameMigrationFiles(t *testing.T) {
	names := func(d string) []string {
		fsys, err := migrations.For(d)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	pg, lite := names("postgres"), names("sqlite")
	if !slices.Equal(pg, lite) {
		t.Fatalf("migration files differ:\npostgres: %v\nsqlite:   %v", pg, lite)
	}
}

// River's tables (river_*) are River's: its drivers shape them for each
// database, so they are left out.
func TestBothDialectsHaveTheSameColumns(t *testing.T) {
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip("needs PostgreSQL (set " + dbtest.EnvPostgres + ")")
	}
	ctx := context.Background()
	columns := func(db *database.DB) map[string][]string {
		q := `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version' AND m.name NOT LIKE 'river_%' ORDER BY 1, 2`
		if db.Dialect == database.Postgres {
			q = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'goose_db_version' AND table_name NOT LIKE 'river_%' ORDER BY 1, 2`
		}
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		out := map[string][]string{}
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], col)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	lite := columns(dbtest.New(t, database.SQLite))
	pg := columns(dbtest.New(t, database.Postgres))
	for table, cols := range pg {
		if !slices.Equal(cols, lite[table]) {
			t.Errorf("table %s: postgres %v, sqlite %v", table, cols, lite[table])
		}
	}
	for table := range lite {
		if _, ok := pg[table]; !ok {
			t.Errorf("table %s exists only in sqlite", table)
		}
	}
}

func TestWhereNumbersPlaceholdersInOrder(t *testing.T) {
	var w database.Where
	w.Add("a = ?", 1)
	w.Add("(b = ? OR c = ?)", "x", "y")
	in := w.In(int64(5), int64(6))
	if got, want := w.SQL(), " WHERE a = $1 AND (b = $2 OR c = $3)"; got != want {
		t.Fatalf("SQL() = %q, want %q", got, want)
	}
	if in != "($4, $5)" || len(w.Args()) != 5 {
		t.Fatalf("In() = %q, args %v", in, w.Args())
	}
}

func TestTransactionsRollBackOnError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ($1)`, "Строительство"); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ($1)`, "Строительство")
			return err
		})
		if !database.IsUniqueViolation(err) {
			t.Fatalf("want a unique violation, got %v", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM spheres`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("rolled back transaction left %d rows", n)
		}
	})
}

func TestStatementsAreCounted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		before := db.Statements()
		var one int
		if err := db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ($1)`, "Торговля"); err != nil {
			t.Fatal(err)
		}
		if got := db.Statements() - before; got != 2 {
			t.Fatalf("counted %d statements, want 2", got)
		}
	})
}

// TestPostgresConnectionsPlanForABaseInMemory checks that the server's
// PostgreSQL connections start with the planner defaults
// (PlannerDefaults), that a URL naming a setting keeps its own value,
// and that the DB's DSN, which pg_dump and River receive, is left as
// given.
func TestPostgresConnectionsPlanForABaseInMemory(t *testing.T) {
	if !slices.Contains(dbtest.Dialects(), database.Postgres) {
		t.Skip("PostgreSQL is not configured (" + dbtest.EnvPostgres + ")")
	}
	ctx := context.Background()
	base := dbtest.URL(t, database.Postgres)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, tc := range []struct{ url, want string }{
		{base, "1.1"},
		{base + sep + "random_page_cost=4", "4"},
	} {
		db, err := database.Open(ctx, tc.url)
		if err != nil {
			t.Fatalf("open %s: %v", tc.url, err)
		}
		var got string
		if err := db.QueryRowContext(ctx, `SHOW random_page_cost`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: random_page_cost %s, want %s", tc.url, got, tc.want)
		}
		if db.DSN() != tc.url {
			t.Errorf("DSN %q, want the URL as given %q", db.DSN(), tc.url)
		}
		_ = db.Close()
	}
}
