package database

import (
	"context"
	"database/sql"
	"fmt"
)

// BulkMin is the smallest batch the stores write through the bulk path:
// below it the row triggers cost less than the statements that switch
// them off and keep their tables for the batch.
const BulkMin = 16

// SetBulk marks the transaction q as writing a batch whose derived tables
// (tallies, duplicate marks) the writing store keeps itself, set-based, so
// that the INSERT triggers of companies, their phones and e-mails and of
// contacts stand aside until SetBulk(false). PostgreSQL: the
// transaction-local setting crm.bulk; SQLite: the row of bulk_writes,
// which no other connection can see before it is deleted (migration 00023
// explains both). q must be a transaction.
func (db *DB) SetBulk(ctx context.Context, q Querier, on bool) error {
	var stmt string
	switch {
	case db.Dialect == Postgres && on:
		stmt = `SELECT set_config('crm.bulk', 'on', true)`
	case db.Dialect == Postgres:
		stmt = `SELECT set_config('crm.bulk', 'off', true)`
	case on:
		stmt = `INSERT INTO bulk_writes (id) VALUES (1) ON CONFLICT (id) DO NOTHING`
	default:
		stmt = `DELETE FROM bulk_writes`
	}
	if _, err := q.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("bulk writes %v: %w", on, err)
	}
	return nil
}

// Bulk runs fn, which writes n rows in tx, with the INSERT triggers
// standing aside (SetBulk) when n is BulkMin or more, and tells fn whether
// they do, so that it keeps the derived tables itself. The flag is cleared
// however fn ends.
func (db *DB) Bulk(ctx context.Context, tx *sql.Tx, n int, fn func(bulk bool) error) (err error) {
	bulk := n >= BulkMin && !db.rowByRow
	if bulk {
		if err := db.SetBulk(ctx, tx, true); err != nil {
			return err
		}
		defer func() {
			if off := db.SetBulk(context.WithoutCancel(ctx), tx, false); err == nil {
				err = off
			}
		}()
	}
	return fn(bulk)
}

// RowByRow returns db with the bulk write path turned off: Bulk never
// sets the flag, so every INSERT trigger fires row by row, and InsertRows
// never COPYs. Tests write the same data through both and compare what
// they derive.
func (db *DB) RowByRow() *DB {
	slow := *db
	slow.rowByRow = true
	return &slow
}

// IsRowByRow reports whether db writes row by row (RowByRow): stores that
// keep a derived table themselves then write it the plain way, one row at
// a time, for tests to compare with their bulk path.
func (db *DB) IsRowByRow() bool { return db.rowByRow }

// bulkCacheKiB is the page cache a SQLite connection gets for a long bulk
// write (BulkSession), in KiB: 32 MB, against the default 2 MB. Measured on
// an import of 20,000 rows (CPU / peak RSS): 2 MB 5.8 s / 101 MB, 32 MB
// 5.1 s / 160 MB, 64 MB 4.7 s / 207 MB — the sorter takes as much again
// as the cache — so 32 MB keeps an import well under its 256 MB.
const bulkCacheKiB = 32 << 10

// BulkSession prepares the connection of tx for a long transaction that
// writes hundreds of thousands of rows (an import) and returns what puts
// it back, to be called before the transaction ends. On SQLite it gives
// the connection a page cache of bulkCacheKiB, so that dirty pages are
// not spilled to the WAL mid-transaction and written again. (It also sets
// temp_store = MEMORY, but inside a transaction that no longer moves the
// transaction's statement journals: begin the transaction with InBulkTx
// for that.) PostgreSQL needs nothing.
func (db *DB) BulkSession(ctx context.Context, tx *sql.Tx) (restore func() error, err error) {
	if db.Dialect != SQLite {
		return func() error { return nil }, nil
	}
	return pragmaSession(ctx, tx, "bulk session", []pragma{
		{name: "cache_size", value: fmt.Sprintf("-%d", bulkCacheKiB), restore: true},
		{name: "temp_store", value: "MEMORY"},
	})
}

// pragma is one setting of a session on a SQLite connection: restore
// asks for its value before the session to be put back after it.
type pragma struct {
	name, value string
	restore     bool
}

// pragmaSession sets the pragmas on tx's connection, in order, and
// returns what puts back those marked restore (errors name what).
func pragmaSession(ctx context.Context, tx *sql.Tx, what string, set []pragma) (restore func() error, err error) {
	var back []string
	for _, p := range set {
		if p.restore {
			var was int64
			if err := tx.QueryRowContext(ctx, `PRAGMA `+p.name).Scan(&was); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			back = append(back, fmt.Sprintf(`PRAGMA %s = %d`, p.name, was))
		}
	}
	for _, p := range set {
		if _, err := tx.ExecContext(ctx, `PRAGMA `+p.name+` = `+p.value); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	return func() error {
		bg := context.WithoutCancel(ctx)
		for _, q := range back {
			if _, err := tx.ExecContext(bg, q); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		return nil
	}, nil
}

// SortCacheKiB is the page cache, in KiB, of SQLite's default (2 MB):
// what SortSession gives a connection for its sorts.
const SortCacheKiB = 2000

// SortSession prepares the connection of tx, a transaction begun by
// InBulkTx, for statements that sort more rows than memory should hold
// (an import's plan sorting a million staged rows by each key), and
// returns what puts it back. A bulk transaction keeps its temporary data
// in memory (temp_store = MEMORY), and SQLite then never spills a sorter:
// every row sorted was held at once, so memory grew with the rows. Here
// temp_store becomes FILE — set inside the transaction, that leaves its
// statement journals in memory, where BEGIN put them, and changes the
// sorters only — and the page cache shrinks to cacheKiB, which is also
// what a sorter holds before it writes a sorted run to a temporary file
// and goes on (the bulk session's 32 MB cache made each sorter hold 32
// MB, and as much again while its buffer grew). A scan in key order reads
// each page once, so the small cache costs the sorts little. PostgreSQL
// bounds its sorts by work_mem and needs nothing.
func (db *DB) SortSession(ctx context.Context, tx *sql.Tx, cacheKiB int) (restore func() error, err error) {
	if db.Dialect != SQLite {
		return func() error { return nil }, nil
	}
	return pragmaSession(ctx, tx, "sort session", []pragma{
		{name: "temp_store", value: "FILE", restore: true},
		{name: "cache_size", value: fmt.Sprintf("-%d", cacheKiB), restore: true},
	})
}
