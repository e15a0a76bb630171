package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteRead is a read transaction on a SQLite connection of its own,
// opened by BeginSQLiteRead through SQLite's C API as modernc.org/sqlite
// compiles it to Go (its lib package), not through database/sql and the
// driver: the SQLite counterpart of PgxTx, for reads that stream
// millions of rows (an export).
//
// The driver opens every connection in SQLite's serialized mode, in
// which each call into SQLite takes the connection's mutex — and the
// driver makes three calls a text column (its type, its text, its
// length), two an integer, one more a step — and it makes a string of
// each text; database/sql then locks the rows and converts each value
// again. In a whole CSV export of a million companies and as many
// contacts, the mutexes alone were 30 % of the CPU. This connection is
// opened without SQLite's mutex (SQLITE_OPEN_NOMUTEX: SQLite's
// multi-thread mode, where a connection must not be used by two threads
// at once; mu sees to that), and a row's text columns reach a
// Texts destination as bytes in SQLite's own memory, copied once into
// the row's buffer. Reading the companies' table whole (a million rows
// of 13 columns): 3.2 s of CPU through database/sql, 1.2 s here.
//
// The connection is read-only and its statements only read. Its
// statements' rows follow database/sql's rules for what a destination
// takes (see sqliteRows.Scan).
type SQLiteRead struct {
	mu    sync.Mutex // held by every call into SQLite
	tls   *libc.TLS
	db    uintptr
	stmts map[*sqliteRows]bool // open statements, finalized by Close at the latest
	// live is held by an interrupt (see Stream) while it reaches the
	// connection, which it does without mu (a statement being stepped
	// holds that), and by whoever ends a statement or the connection:
	// so an interrupt comes only while its statement is open.
	live sync.Mutex
}

// sqliteBusyMillis is how long a statement waits for a lock before
// failing, as the pool's connections do (SQLiteDSN).
const sqliteBusyMillis = 10000

// sqliteReadCacheKiB is the page cache of a SQLiteRead connection. Its
// statements read tables and indexes front to back, so a page is wanted
// once, but for the interior pages of a B-tree, which a few hundred
// kilobytes hold; the operating system keeps the file's pages either way.
// With SQLite's default of 2,000 KiB (modernc's allocator gives each
// 4 KiB page an 8 KiB slot) the four connections of a whole export
// were 18 MB of its peak RSS: a million companies from SQLite took
// 91 MB, 73 MB with this cache, and no longer (4.4–5.0 s both).
const sqliteReadCacheKiB = 500

// BeginSQLiteRead opens a read-only connection of its own to db (SQLite
// only) and begins a read transaction on it. The transaction's snapshot
// is taken at its first read, as in a deferred BEGIN. Close ends both.
func (db *DB) BeginSQLiteRead(ctx context.Context) (*SQLiteRead, error) {
	if db.Dialect != SQLite {
		return nil, fmt.Errorf("sqlite read: %s is not SQLite", db.Dialect)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &SQLiteRead{tls: libc.NewTLS(), stmts: map[*sqliteRows]bool{}}
	rc := t.open(db.dsn)
	if rc != sqlite3.SQLITE_OK {
		err := t.error("open", rc)
		t.Close()
		return nil, err
	}
	sqlite3.Xsqlite3_busy_timeout(t.tls, t.db, sqliteBusyMillis)
	if err := t.exec(fmt.Sprintf("PRAGMA cache_size = -%d", sqliteReadCacheKiB)); err != nil {
		t.Close()
		return nil, err
	}
	if err := t.exec("BEGIN"); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// open opens the connection to the file of dsn (a file: URI; SQLite
// ignores the driver's own keys in it) and keeps its handle, which
// SQLite gives even when it fails, for the message.
func (t *SQLiteRead) open(dsn string) int32 {
	name, err := libc.CString(dsn)
	if err != nil {
		return sqlite3.SQLITE_NOMEM
	}
	defer libc.Xfree(t.tls, name)
	pdb := t.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer t.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	*(*uintptr)(cMemory(pdb)) = 0
	rc := sqlite3.Xsqlite3_open_v2(t.tls, name, pdb,
		sqlite3.SQLITE_OPEN_READONLY|sqlite3.SQLITE_OPEN_NOMUTEX|sqlite3.SQLITE_OPEN_URI, 0)
	t.db = *(*uintptr)(cMemory(pdb))
	return rc
}

// exec runs one statement that returns no rows.
func (t *SQLiteRead) exec(query string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	q, err := libc.CString(query)
	if err != nil {
		return err
	}
	defer libc.Xfree(t.tls, q)
	if rc := sqlite3.Xsqlite3_exec(t.tls, t.db, q, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return t.error(query, rc)
	}
	return nil
}

// error is SQLite's message for rc, from what.
func (t *SQLiteRead) error(what string, rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(t.tls, rc))
	if t.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(t.tls, t.db))
	}
	return fmt.Errorf("sqlite read: %s: %s (%d)", what, msg, rc)
}

// Stream runs query in the transaction. Its placeholders are $1, $2, …
// (or ?), as everywhere in the project; args are what the driver binds:
// integers, floats, booleans, strings, byte slices, times and nil.
//
// When ctx ends, the statement is interrupted (sqlite3_interrupt, which
// SQLite allows from any thread), even inside a long step — a sort of a
// whole table before its first row — and the rows end with ctx's error.
// The interrupt stops every statement stepped on the connection at the
// time: the statements of one read share their context.
func (t *SQLiteRead) Stream(ctx context.Context, query string, args ...any) (Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.db == 0 {
		return nil, errors.New("sqlite read: closed")
	}
	q, err := libc.CString(query)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(t.tls, q)
	pstmt := t.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer t.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	*(*uintptr)(cMemory(pstmt)) = 0
	if rc := sqlite3.Xsqlite3_prepare_v2(t.tls, t.db, q, -1, pstmt, 0); rc != sqlite3.SQLITE_OK {
		return nil, t.error("prepare", rc)
	}
	r := &sqliteRows{t: t, ctx: ctx, stmt: *(*uintptr)(cMemory(pstmt))}
	if r.stmt == 0 {
		return nil, errors.New("sqlite read: the statement is empty")
	}
	t.stmts[r] = true
	r.stop = context.AfterFunc(ctx, r.interrupt)
	r.cols = int(sqlite3.Xsqlite3_column_count(t.tls, r.stmt))
	if err := r.bind(args); err != nil {
		r.finalize()
		return nil, err
	}
	return r, nil
}

// interrupt makes the statements being stepped on the connection stop,
// if r is still open.
func (r *sqliteRows) interrupt() {
	t := r.t
	t.live.Lock()
	defer t.live.Unlock()
	if r.closed || t.db == 0 {
		return
	}
	tls := libc.NewTLS() // this goroutine's own
	sqlite3.Xsqlite3_interrupt(tls, t.db)
	tls.Close()
}

// Close finalizes the statements still open, rolls the transaction back
// and closes the connection.
func (t *SQLiteRead) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for r := range t.stmts {
		r.finalize()
	}
	t.live.Lock()
	if t.db != 0 {
		sqlite3.Xsqlite3_close_v2(t.tls, t.db) // rolls back the transaction
		t.db = 0
	}
	t.live.Unlock()
	if t.tls != nil {
		t.tls.Close()
		t.tls = nil
	}
}

// sqliteRows is a statement of a SQLiteRead being stepped.
type sqliteRows struct {
	t      *SQLiteRead
	ctx    context.Context
	stmt   uintptr
	stop   func() bool // ends the watch on ctx (see Stream)
	cols   int
	onRow  bool // the statement is on a row Scan may read
	closed bool
	err    error
}

// sqliteTimeLayout is how the driver writes a time.Time (the DSN's
// _time_format=sqlite): a time bound here compares with the stored ones
// as the driver's would.
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// sqliteTransient tells SQLite to copy a bound text or blob at once
// (SQLITE_TRANSIENT), so that the Go side frees its copy right away.
const sqliteTransient = ^uintptr(0)

// bind binds args to the statement's parameters: $N and ?N to args[N-1],
// a bare ? to the argument of its position.
func (r *sqliteRows) bind(args []any) error {
	t := r.t
	n := int(sqlite3.Xsqlite3_bind_parameter_count(t.tls, r.stmt))
	for i := 1; i <= n; i++ {
		k := i
		if p := sqlite3.Xsqlite3_bind_parameter_name(t.tls, r.stmt, int32(i)); p != 0 {
			name := libc.GoString(p)
			var err error
			if k, err = strconv.Atoi(name[1:]); err != nil || name[0] == ':' || name[0] == '@' {
				return fmt.Errorf("sqlite read: parameter %s: only $N, ?N and ? are bound", name)
			}
		}
		if k < 1 || k > len(args) {
			return fmt.Errorf("sqlite read: parameter %d of %d arguments", k, len(args))
		}
		if rc := r.bindOne(int32(i), args[k-1]); rc != sqlite3.SQLITE_OK {
			if rc == -1 {
				return fmt.Errorf("sqlite read: parameter %d: unsupported %T", k, args[k-1])
			}
			return t.error("bind", rc)
		}
	}
	return nil
}

// bindOne binds v to parameter i; -1 is a type it does not bind.
func (r *sqliteRows) bindOne(i int32, v any) int32 {
	t := r.t
	switch x := v.(type) {
	case nil:
		return sqlite3.Xsqlite3_bind_null(t.tls, r.stmt, i)
	case int64:
		return sqlite3.Xsqlite3_bind_int64(t.tls, r.stmt, i, x)
	case int:
		return sqlite3.Xsqlite3_bind_int64(t.tls, r.stmt, i, int64(x))
	case int32:
		return sqlite3.Xsqlite3_bind_int64(t.tls, r.stmt, i, int64(x))
	case float64:
		return sqlite3.Xsqlite3_bind_double(t.tls, r.stmt, i, x)
	case bool:
		var b int64
		if x {
			b = 1
		}
		return sqlite3.Xsqlite3_bind_int64(t.tls, r.stmt, i, b)
	case string:
		return r.bindBytes(i, []byte(x), false)
	case []byte:
		if x == nil {
			return sqlite3.Xsqlite3_bind_null(t.tls, r.stmt, i)
		}
		return r.bindBytes(i, x, true)
	case time.Time:
		return r.bindBytes(i, []byte(x.Format(sqliteTimeLayout)), false)
	}
	return -1
}

// bindBytes binds b as a text or a blob, which SQLite copies.
func (r *sqliteRows) bindBytes(i int32, b []byte, blob bool) int32 {
	t := r.t
	if len(b) > math.MaxInt32 {
		return sqlite3.SQLITE_TOOBIG
	}
	n := int32(len(b)) //nolint:gosec // bounded just above
	p := libc.Xmalloc(t.tls, types.Size_t(len(b)+1))
	if p == 0 {
		return sqlite3.SQLITE_NOMEM
	}
	defer libc.Xfree(t.tls, p)
	copy(unsafe.Slice((*byte)(cMemory(p)), len(b)), b) //nolint:gosec // p holds len(b)+1 bytes, allocated above
	if blob {
		return sqlite3.Xsqlite3_bind_blob(t.tls, r.stmt, i, p, n, sqliteTransient)
	}
	return sqlite3.Xsqlite3_bind_text(t.tls, r.stmt, i, p, n, sqliteTransient)
}

// Next steps to the next row.
func (r *sqliteRows) Next() bool {
	if r.closed {
		return false
	}
	if err := r.ctx.Err(); err != nil { // an atomic load; the interrupt comes from another goroutine, a little later
		r.err = err
		_ = r.Close()
		return false
	}
	t := r.t
	t.mu.Lock()
	rc := sqlite3.Xsqlite3_step(t.tls, r.stmt)
	t.mu.Unlock()
	switch rc {
	case sqlite3.SQLITE_ROW:
		r.onRow = true
		return true
	case sqlite3.SQLITE_DONE:
	default:
		if err := r.ctx.Err(); err != nil && rc == sqlite3.SQLITE_INTERRUPT {
			r.err = err
			break
		}
		t.mu.Lock()
		r.err = t.error("step", rc)
		t.mu.Unlock()
	}
	_ = r.Close()
	return false
}

// bytesScanner takes a column's bytes, valid only until the next row
// (Texts' destinations).
type bytesScanner interface {
	ScanBytes(v []byte) error
}

// errSQLiteNull is a NULL where the destination takes none.
var errSQLiteNull = errors.New("NULL into a destination that takes none")

// Scan stores the row's columns into dest, one each: *int64 and *int
// take an integer (a text column is parsed, as database/sql would),
// *string a text (an integer in decimal), a Texts destination (or any
// ScanBytes) the column's bytes, and a sql.Scanner the value as
// database/sql hands it over: int64, float64, string, []byte or nil.
// Only a sql.Scanner or a ScanBytes takes a NULL.
func (r *sqliteRows) Scan(dest ...any) error {
	if !r.onRow {
		return errors.New("sqlite read: Scan without a row")
	}
	if len(dest) != r.cols {
		return fmt.Errorf("sqlite read: %d destinations for %d columns", len(dest), r.cols)
	}
	t := r.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, d := range dest {
		if err := r.scanOne(int32(i), d); err != nil {
			return fmt.Errorf("sqlite read: column %d: %w", i, err)
		}
	}
	return nil
}

func (r *sqliteRows) scanOne(i int32, dest any) error {
	t := r.t
	typ := sqlite3.Xsqlite3_column_type(t.tls, r.stmt, i)
	switch d := dest.(type) {
	case *int64:
		n, err := r.integer(i, typ)
		*d = n
		return err
	case *int:
		n, err := r.integer(i, typ)
		*d = int(n)
		return err
	case *string:
		if typ == sqlite3.SQLITE_NULL {
			return errSQLiteNull
		}
		*d = string(r.bytes(i))
		return nil
	case bytesScanner:
		if typ == sqlite3.SQLITE_NULL {
			return d.ScanBytes(nil)
		}
		return d.ScanBytes(r.bytes(i))
	case sql.Scanner:
		var v any
		switch typ {
		case sqlite3.SQLITE_INTEGER:
			v = sqlite3.Xsqlite3_column_int64(t.tls, r.stmt, i)
		case sqlite3.SQLITE_FLOAT:
			v = sqlite3.Xsqlite3_column_double(t.tls, r.stmt, i)
		case sqlite3.SQLITE_TEXT:
			v = string(r.bytes(i))
		case sqlite3.SQLITE_BLOB:
			v = append([]byte(nil), r.bytes(i)...)
		}
		return d.Scan(v)
	}
	return fmt.Errorf("unsupported destination %T", dest)
}

// integer is column i as an integer.
func (r *sqliteRows) integer(i, typ int32) (int64, error) {
	switch typ {
	case sqlite3.SQLITE_INTEGER:
		return sqlite3.Xsqlite3_column_int64(r.t.tls, r.stmt, i), nil
	case sqlite3.SQLITE_NULL:
		return 0, errSQLiteNull
	}
	s := string(r.bytes(i))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", s)
	}
	return n, nil
}

// bytes is column i's text (or blob) in SQLite's memory: valid until the
// statement steps again.
func (r *sqliteRows) bytes(i int32) []byte {
	t := r.t
	p := sqlite3.Xsqlite3_column_text(t.tls, r.stmt, i)
	n := sqlite3.Xsqlite3_column_bytes(t.tls, r.stmt, i)
	if p == 0 || n <= 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(cMemory(p)), n) //nolint:gosec // SQLite's n bytes of the column at p
}

// Err is the error that ended the rows, if any.
func (r *sqliteRows) Err() error { return r.err }

// Close finalizes the statement; it may be called again.
func (r *sqliteRows) Close() error {
	if r.closed {
		return r.err
	}
	r.t.mu.Lock()
	r.finalize()
	r.t.mu.Unlock()
	return r.err
}

// finalize ends the statement; t.mu is held.
func (r *sqliteRows) finalize() {
	if r.closed {
		return
	}
	r.t.live.Lock() // waits for an interrupt under way
	r.closed, r.onRow = true, false
	r.t.live.Unlock()
	r.stop()
	sqlite3.Xsqlite3_finalize(r.t.tls, r.stmt)
	delete(r.t.stmts, r)
}

// cMemory is the memory at address p of the C heap, which libc keeps
// outside Go's: SQLite's, or what this file allocates there. The
// collector neither moves nor frees it.
func cMemory(p uintptr) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(nil), p) //nolint:gosec // an address libc or SQLite handed over
}

// SQLiteRead's rows satisfy Rows.
var _ Rows = (*sqliteRows)(nil)
