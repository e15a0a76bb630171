package database_test

import (
	"context"
	"database/sql"
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
