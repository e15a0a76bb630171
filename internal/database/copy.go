package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// The bulk write path's statements. A multi-row INSERT of thousands of
// rows is parsed and planned anew on every call whose row count differs
// (PostgreSQL: tens of milliseconds of parse and bind per statement in
// an import, most of what the server did besides writing); SQLite
// compiles each such statement too, its text ~100 KB. So InsertRows
// writes a batch on PostgreSQL with COPY FROM STDIN (pgx's CopyFrom) on
// the transaction's own connection, when the transaction was begun by
// InTx. COPY fires the same row and statement triggers as INSERT and
// fails on the same constraints, so what it writes is what the INSERT
// would have. SQLite keeps its multi-row INSERTs: stepping one cached
// single-row statement per row measured twice as slow.

// copyMin is the smallest batch worth a COPY: below it the round trip
// that COPY spends learning the columns' types costs more than it saves.
const copyMin = 64

// txConns remembers the connection of each transaction InTx began on
// PostgreSQL, so that InsertRows can run COPY in it.
type txConns struct{ m sync.Map } // *sql.Tx → *sql.Conn

func (c *txConns) conn(tx *sql.Tx) *sql.Conn {
	if c == nil || tx == nil {
		return nil
	}
	v, ok := c.m.Load(tx)
	if !ok {
		return nil
	}
	return v.(*sql.Conn)
}

// insertHead matches what InsertRows is given: "INSERT INTO t (a, b)".
var insertHead = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+([a-z_][a-z0-9_]*)\s*\(([a-z0-9_,\s]+)\)\s*$`)

// copyTarget splits head into its table and columns; ok is false for a
// head of another shape (the caller then writes with INSERT).
func copyTarget(head string) (table string, columns []string, ok bool) {
	m := insertHead.FindStringSubmatch(head)
	if m == nil {
		return "", nil, false
	}
	for c := range strings.SplitSeq(m[2], ",") {
		columns = append(columns, strings.TrimSpace(c))
	}
	return m[1], columns, true
}

// txOf is the transaction q runs in, if it is one: a *sql.Tx or a DB
// bound to one by WithTx.
func txOf(q Querier) *sql.Tx {
	switch v := q.(type) {
	case *sql.Tx:
		return v
	case *DB:
		return v.tx
	}
	return nil
}

// copyRows writes rows with COPY when q is a PostgreSQL transaction begun
// by InTx and head is a plain column list; done is false when it did not
// (the caller inserts them).
func (db *DB) copyRows(ctx context.Context, q Querier, head string, rows [][]any) (done bool, err error) {
	if db.Dialect != Postgres || db.rowByRow || len(rows) < copyMin {
		return false, nil
	}
	conn := db.conns.conn(txOf(q))
	if conn == nil {
		return false, nil
	}
	table, columns, ok := copyTarget(head)
	if !ok {
		return false, nil
	}
	err = conn.Raw(func(dc any) error {
		pc, ok := driverConn(dc).(*stdlib.Conn)
		if !ok {
			return errNoCopy
		}
		n, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		if err == nil && n != int64(len(rows)) {
			err = fmt.Errorf("%d rows copied of %d", n, len(rows))
		}
		return err
	})
	if errors.Is(err, errNoCopy) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("copy %s: %w", table, err)
	}
	db.statements.Add(1)
	db.trips.Add(1)
	return true, nil
}

var errNoCopy = errors.New("no pgx connection")

// CopyStream writes the rows next yields, until it yields a nil row, with
// one COPY on the connection of q's transaction, and returns how many it
// wrote. ok is false, and next never called, where InsertRows would not
// COPY either (SQLite, RowByRow, a transaction not begun by InTx, a head
// of another shape): the caller then writes its rows in batches.
//
// One COPY for a whole stream, rather than one per batch, lets the two
// sides work at once: pgx builds its buffers from next in a goroutine of
// its own and sends each as it fills (64 KB), so the server inserts one
// buffer's rows while next produces the following ones. With a batch per
// COPY each side waited for the other to finish the batch. next runs in
// that goroutine, one call at a time; it must not use q's transaction.
// An error of next is returned as it is (the COPY is abandoned).
func (db *DB) CopyStream(ctx context.Context, q Querier, head string, next func() ([]any, error)) (n int64, ok bool, err error) {
	if db.Dialect != Postgres || db.rowByRow {
		return 0, false, nil
	}
	conn := db.conns.conn(txOf(q))
	if conn == nil {
		return 0, false, nil
	}
	table, columns, shaped := copyTarget(head)
	if !shaped {
		return 0, false, nil
	}
	var srcErr error
	source := pgx.CopyFromFunc(func() ([]any, error) {
		row, err := next()
		if err != nil {
			srcErr = err
		}
		return row, err
	})
	err = conn.Raw(func(dc any) error {
		pc, isPgx := driverConn(dc).(*stdlib.Conn)
		if !isPgx {
			return errNoCopy
		}
		n, err = pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, source)
		return err
	})
	switch {
	case errors.Is(err, errNoCopy):
		return 0, false, nil
	case srcErr != nil:
		return n, true, srcErr
	case err != nil:
		return n, true, fmt.Errorf("copy %s: %w", table, err)
	}
	db.statements.Add(1)
	db.trips.Add(1)
	return n, true, nil
}

// driverConn unwraps the statement-counting wrapper.
func driverConn(dc any) any {
	if c, ok := dc.(*countingConn); ok {
		return c.Conn
	}
	return dc
}
