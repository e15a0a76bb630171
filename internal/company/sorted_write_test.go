package company

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestInsertBatchWritesDerivedRowsInKeyOrder: a batch's search words
// (company_terms) and name trigrams reach their tables in key order,
// whatever the order of the companies — B-tree inserts in key order are
// what keeps a big import's derived rows cheap. The tables' physical order
// shows it on PostgreSQL: ctid, where COPY appends in the order given.
// On SQLite both tables are WITHOUT ROWID (name_trigrams since 00044,
// company_terms since 00065), kept in key order by the tables themselves:
// there the test only writes the batch.
func TestInsertBatchWritesDerivedRowsInKeyOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		s := NewStore(db)
		ctx := context.Background()
		var list []NewCompany
		for i := range 80 { // past database.BulkMin and the COPY minimum: the bulk path
			c := NewCompany{Name: fmt.Sprintf("ООО «Яхонт %02d Арбат»", 80-i), ResponsibleID: cast.Alisa.ID, BranchID: cast.BranchA}
			_ = c.Normalize()
			list = append(list, c)
		}
		insertBatch(t, db, s, list)
		if db.Dialect == database.SQLite {
			return
		}
		for _, c := range []struct{ table, key string }{
			{"company_terms", "term, live, name_norm, company_id"},
			{"name_trigrams", "trigram, ntri, name_id"},
		} {
			var out, sorted int
			err := db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN pos = kpos THEN 1 ELSE 0 END), 0) FROM (
				SELECT ROW_NUMBER() OVER (ORDER BY ctid) AS pos, ROW_NUMBER() OVER (ORDER BY `+c.key+`) AS kpos FROM `+c.table+`) x`).Scan(&out, &sorted)
			if err != nil {
				t.Fatal(err)
			}
			if out < len(list) || sorted != out {
				t.Errorf("%s: %d of %d rows where their key puts them", c.table, sorted, out)
			}
		}
	})
}

// insertBatch writes list through the bulk path in a transaction of its own.
func insertBatch(t *testing.T, db *database.DB, s *Store, list []NewCompany) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		_, err := s.InsertBatch(context.Background(), tx, list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeferredTrigramsAreTheSameRowsInOneSortedRun writes three batches
// of companies through a store that defers its trigrams: before flush
// the new names have none, after it name_trigrams holds exactly the rows
// that the plain store writes for the same companies (compared with a
// second base), all of them in the primary key's order on disk, the
// batches' rows interleaved. Cyrillic, Latin, digits and a rune outside
// the Basic Multilingual Plane pack into the sort key and back unchanged.
func TestDeferredTrigramsAreTheSameRowsInOneSortedRun(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		plain := dbtest.New(t, db.Dialect)
		batches := func(d *database.DB) [][]NewCompany {
			cast := dbtest.NewCast(t, d)
			out := make([][]NewCompany, 3)
			for b := range out {
				for i := range 70 { // past database.BulkMin and the COPY minimum: the bulk path
					c := NewCompany{Name: fmt.Sprintf("ООО «Яхонт %02d %s»", (i*7+b)%90, []string{"Арбат", "Ёлка 𝔸", "Acme"}[b]),
						ResponsibleID: cast.Alisa.ID, BranchID: cast.BranchA}
					_ = c.Normalize()
					out[b] = append(out[b], c)
				}
			}
			return out
		}
		deferred := batches(db)
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			s, flush := NewStore(db).WithTx(tx).DeferTrigrams(DeferredNamesMax)
			for _, list := range deferred {
				if _, err := s.InsertBatch(ctx, tx, list); err != nil {
					return err
				}
			}
			var before int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM name_trigrams`).Scan(&before); err != nil {
				return err
			}
			if before != 0 {
				t.Errorf("%d trigrams before flush, want none", before)
			}
			return flush(ctx, tx)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range batches(plain) {
			insertBatch(t, plain, NewStore(plain), list)
		}
		got, want := trigramRows(t, db), trigramRows(t, plain)
		if len(want) < 3*70 || !slices.Equal(got, want) {
			t.Fatalf("deferred trigrams differ from the plain store's: %d rows against %d", len(got), len(want))
		}
		if db.Dialect == database.SQLite {
			return // name_trigrams is its key there (WITHOUT ROWID): no other order to check
		}
		var out, sorted int
		err = db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN pos = kpos THEN 1 ELSE 0 END), 0) FROM (
			SELECT ROW_NUMBER() OVER (ORDER BY ctid) AS pos, ROW_NUMBER() OVER (ORDER BY trigram, ntri, name_id) AS kpos
			FROM name_trigrams) x`).Scan(&out, &sorted)
		if err != nil {
			t.Fatal(err)
		}
		if sorted != out {
			t.Errorf("name_trigrams: %d of %d rows where their key puts them", sorted, out)
		}
	})
}

// A queue that reaches its bound is written as a run of its own before
// the flush, and the rows are still the plain store's.
func TestDeferredTrigramsOverTheBoundAreWrittenInRuns(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		plain := dbtest.New(t, db.Dialect)
		list := func(d *database.DB) []NewCompany {
			cast := dbtest.NewCast(t, d)
			var out []NewCompany
			for i := range 70 { // past database.BulkMin and the COPY minimum: the bulk path
				c := NewCompany{Name: fmt.Sprintf("ООО «Сапфир %02d»", i), ResponsibleID: cast.Alisa.ID, BranchID: cast.BranchA}
				_ = c.Normalize()
				out = append(out, c)
			}
			return out
		}
		companies := list(db)
		var early, afterFlush int
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			s, flush := NewStore(db).WithTx(tx).DeferTrigrams(50)
			for start := 0; start < len(companies); start += 35 {
				if _, err := s.InsertBatch(ctx, tx, companies[start:start+35]); err != nil {
					return err
				}
			}
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(DISTINCT name_id) FROM name_trigrams`).Scan(&early); err != nil {
				return err
			}
			if err := flush(ctx, tx); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT COUNT(DISTINCT name_id) FROM name_trigrams`).Scan(&afterFlush)
		})
		if err != nil {
			t.Fatal(err)
		}
		// Two batches of 35: the second one takes the queue to 70 ≥ 50, so
		// both are written before the flush, which has nothing left.
		if early != 70 || afterFlush != 70 {
			t.Errorf("names with trigrams: %d before the flush and %d after, want 70 and 70", early, afterFlush)
		}
		insertBatch(t, plain, NewStore(plain), list(plain))
		if got, want := trigramRows(t, db), trigramRows(t, plain); len(want) < 70 || !slices.Equal(got, want) {
			t.Fatalf("deferred trigrams differ from the plain store's: %d rows against %d", len(got), len(want))
		}
	})
}

// trigramRows is d's name_trigrams as "trigram/ntri/name", sorted.
func trigramRows(t *testing.T, d *database.DB) []string {
	t.Helper()
	list, err := database.Column[string](context.Background(), d, `SELECT t.trigram || '/' || t.ntri || '/' || n.name_norm
		FROM name_trigrams t JOIN company_names n ON n.id = t.name_id ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	return list
}
