package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestReusedStatementsGiveTheRightRows runs the same queries over and over,
// with different arguments, with a query run again while its own rows are
// still being read in a transaction, and past the size of the statement
// cache: every answer must be the right one.
func TestReusedStatementsGiveTheRightRows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		for i := range 5 {
			if _, err := db.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ($1)`, fmt.Sprintf("Сфера %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			var name string
			if err := db.QueryRowContext(ctx, `SELECT name FROM spheres WHERE name = $1`, fmt.Sprintf("Сфера %d", i)).Scan(&name); err != nil || name != fmt.Sprintf("Сфера %d", i) {
				t.Fatalf("run %d: %q, %v", i, name, err)
			}
		}
		// The same query nested in its own rows, on one connection (SQLite
		// allows that; PostgreSQL's protocol does not).
		const q = `SELECT id, name FROM spheres WHERE id >= $1 ORDER BY id`
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if db.Dialect != database.SQLite {
				return nil
			}
			rows, err := tx.QueryContext(ctx, q, 0)
			if err != nil {
				return err
			}
			defer func() { _ = rows.Close() }()
			outer := 0
			for rows.Next() {
				var id int64
				var name string
				if err := rows.Scan(&id, &name); err != nil {
					return err
				}
				outer++
				n, err := countRows(tx.QueryContext(ctx, q, id))
				if err != nil {
					return err
				}
				if n != 6-outer {
					return fmt.Errorf("inner count after %s: %d, want %d", name, n, 6-outer)
				}
			}
			if outer != 5 {
				return fmt.Errorf("outer rows: %d, want 5", outer)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		// More distinct statements than the cache holds.
		for i := range 450 {
			var got int
			if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + $1`, i), 1).Scan(&got); err != nil || got != i+1 {
				t.Fatalf("statement %d: %d, %v", i, got, err)
			}
		}
		// A failing statement stays failing, and a good one works after it.
		if _, err := db.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ($1)`, "Сфера 1"); !database.IsUniqueViolation(err) {
			t.Fatalf("duplicate: %v, want a unique violation", err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO spheres (name) VALUES ($1)`, "Сфера 9"); err != nil {
			t.Fatal(err)
		}
	})
}

func countRows(rows *sql.Rows, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
