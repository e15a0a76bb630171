package database_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestBulkSessionPutsTheConnectionBack: the larger page cache of a bulk
// transaction is the transaction's, not the pooled connection's for good.
func TestBulkSessionPutsTheConnectionBack(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	db.SetMaxOpenConns(1) // the same connection before, during and after
	ctx := context.Background()
	cache := func(q database.Querier) int64 {
		t.Helper()
		var n int64
		if err := q.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := cache(db)
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		restore, err := db.BulkSession(ctx, tx)
		if err != nil {
			return err
		}
		if during := cache(tx); during == before {
			t.Errorf("cache_size %d during a bulk session: unchanged", during)
		}
		return restore()
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := cache(db); after != before {
		t.Fatalf("cache_size %d after a bulk session, %d before", after, before)
	}
}

// TestBulkTransactionsJournalInMemory: a transaction begun by InBulkTx
// keeps its statement journals in memory (temp_store = MEMORY, 2, set
// before BEGIN, where SQLite reads it), and the pooled connection gets
// its default (0) back afterwards, whether the transaction commits or
// fails.
func TestBulkTransactionsJournalInMemory(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	db.SetMaxOpenConns(1) // the same connection before, during and after
	ctx := context.Background()
	store := func(q database.Querier) int64 {
		t.Helper()
		var n int64
		if err := q.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if before := store(db); before != 0 {
		t.Fatalf("temp_store %d before a bulk transaction, want 0", before)
	}
	for _, fail := range []bool{false, true} {
		err := db.InBulkTx(ctx, func(tx *sql.Tx) error {
			if during := store(tx); during != 2 {
				t.Errorf("temp_store %d during a bulk transaction, want 2", during)
			}
			if fail {
				return sql.ErrNoRows
			}
			return nil
		})
		if fail != (err != nil) {
			t.Fatalf("fail %v: %v", fail, err)
		}
		if after := store(db); after != 0 {
			t.Fatalf("temp_store %d after a bulk transaction (fail %v), want 0", after, fail)
		}
	}
}

// TestSortSessionSpillsSortsAndPutsTheBulkSessionBack: inside a bulk
// transaction a sort session lets sorters spill to temporary files
// (temp_store = FILE, 1) with a small page cache, which bounds what a
// sorter holds, and its restore gives the bulk session its in-memory
// temporary data and its large cache back; the transaction still sorts
// and writes on both sides of it.
func TestSortSessionSpillsSortsAndPutsTheBulkSessionBack(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	ctx := context.Background()
	pragmas := func(q database.Querier) (store, cache int64) {
		t.Helper()
		if err := q.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&store); err != nil {
			t.Fatal(err)
		}
		if err := q.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
			t.Fatal(err)
		}
		return store, cache
	}
	// 50,000 rows of about 100 bytes: more than the sort session's
	// cache, so the sorter writes runs to a file and merges them.
	const sortMany = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
		SELECT COUNT(*), MIN(k) FROM (SELECT printf('%090d', (i * 7919) % 50000) AS k FROM n ORDER BY k LIMIT -1 OFFSET 1)`
	sorted := func(q database.Querier) {
		t.Helper()
		var (
			n     int
			first string
		)
		if err := q.QueryRowContext(ctx, sortMany).Scan(&n, &first); err != nil {
			t.Fatal(err)
		}
		if n != 49999 || first != strings.Repeat("0", 89)+"1" {
			t.Fatalf("sorted %d rows, first %q", n, first)
		}
	}
	err := db.InBulkTx(ctx, func(tx *sql.Tx) error {
		restoreBulk, err := db.BulkSession(ctx, tx)
		if err != nil {
			return err
		}
		bulkStore, bulkCache := pragmas(tx)
		restore, err := db.SortSession(ctx, tx, database.SortCacheKiB)
		if err != nil {
			return err
		}
		if store, cache := pragmas(tx); store != 1 || cache != -database.SortCacheKiB {
			t.Errorf("temp_store %d, cache_size %d in a sort session, want 1, %d", store, cache, -database.SortCacheKiB)
		}
		sorted(tx)
		if err := restore(); err != nil {
			return err
		}
		if store, cache := pragmas(tx); store != bulkStore || cache != bulkCache {
			t.Errorf("temp_store %d, cache_size %d after a sort session, want the bulk session's %d, %d",
				store, cache, bulkStore, bulkCache)
		}
		sorted(tx)
		if _, err := tx.ExecContext(ctx, `CREATE TABLE sort_session_probe (k TEXT)`); err != nil {
			return err
		}
		return restoreBulk()
	})
	if err != nil {
		t.Fatal(err)
	}
}
