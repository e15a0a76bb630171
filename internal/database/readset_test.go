package database_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestReadSetSendsItsReadsTogether queues reads of a probe table: each
// scan gets its own statement's rows, in order; on PostgreSQL the set is
// one round trip, on SQLite one a statement; After runs once the reads
// are scanned; a failing read fails Run and leaves the pool working; in a
// bound transaction the reads see its uncommitted rows.
func TestReadSetSendsItsReadsTogether(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE readset_probe (id BIGINT PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO readset_probe (id, name) VALUES (1, 'один'), (2, 'два'), (3, 'три')`); err != nil {
			t.Fatal(err)
		}
		names := func(out *[]string) func(database.Rows) error {
			return func(rows database.Rows) error {
				for rows.Next() {
					var s string
					if err := rows.Scan(&s); err != nil {
						return err
					}
					*out = append(*out, s)
				}
				return rows.Err()
			}
		}
		const byID = `SELECT name FROM readset_probe WHERE id = $1`

		t.Run("each scan gets its own rows, in one round trip on PostgreSQL", func(t *testing.T) {
			set := db.NewReadSet()
			var a, b, none, all []string
			set.Query(byID, []any{int64(2)}, names(&a))
			set.Query(byID, []any{int64(3)}, names(&b))
			set.Query(byID, []any{int64(9)}, names(&none))
			set.Query(`SELECT name FROM readset_probe WHERE id >= $1 ORDER BY id`, []any{int64(1)}, names(&all))
			var seen []string
			set.After(func(context.Context) error {
				seen = append(seen, a...) // the reads are scanned by now
				return nil
			})
			statements, trips := db.Statements(), db.RoundTrips()
			if err := set.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if len(a) != 1 || a[0] != "два" || len(b) != 1 || b[0] != "три" || len(none) != 0 || len(all) != 3 || all[0] != "один" {
				t.Fatalf("got %v %v %v %v", a, b, none, all)
			}
			if len(seen) != 1 {
				t.Errorf("After saw %v, want the first read's rows", seen)
			}
			wantTrips := int64(4)
			if db.Dialect == database.Postgres {
				wantTrips = 1
			}
			if n := db.Statements() - statements; n != 4 {
				t.Errorf("%d statements, want 4", n)
			}
			if n := db.RoundTrips() - trips; n != wantTrips {
				t.Errorf("%d round trips, want %d", n, wantTrips)
			}
		})

		t.Run("a failing read fails the set and the pool goes on", func(t *testing.T) {
			for range 25 { // more than the pool's connections
				set := db.NewReadSet()
				var a []string
				set.Query(byID, []any{int64(1)}, names(&a))
				set.Query(`SELECT name FROM readset_missing WHERE id = $1`, []any{int64(1)}, names(&a))
				if err := set.Run(ctx); err == nil {
					t.Fatal("a read of a missing table did not fail the set")
				}
			}
			scanErr := errors.New("scan refused")
			set := db.NewReadSet()
			set.Query(byID, []any{int64(1)}, func(database.Rows) error { return scanErr })
			set.Query(byID, []any{int64(2)}, func(database.Rows) error { return nil })
			if err := set.Run(ctx); !errors.Is(err, scanErr) {
				t.Fatalf("Run = %v, want the scan's error", err)
			}
			var a []string
			set = db.NewReadSet()
			set.Query(byID, []any{int64(1)}, names(&a))
			set.Query(byID, []any{int64(3)}, names(&a))
			if err := set.Run(ctx); err != nil || len(a) != 2 {
				t.Fatalf("after the failures: %v %v", a, err)
			}
		})

		t.Run("in a bound transaction the reads see its rows", func(t *testing.T) {
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO readset_probe (id, name) VALUES (4, 'четыре')`); err != nil {
					return err
				}
				set := db.WithTx(tx).NewReadSet()
				var a, b []string
				set.Query(byID, []any{int64(4)}, names(&a))
				set.Query(byID, []any{int64(1)}, names(&b))
				if err := set.Run(ctx); err != nil {
					return err
				}
				if len(a) != 1 || a[0] != "четыре" || len(b) != 1 {
					t.Errorf("in the transaction: %v %v", a, b)
				}
				return errors.New("roll back")
			})
			if err == nil || err.Error() != "roll back" {
				t.Fatal(err)
			}
		})
	})
}
