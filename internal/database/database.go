// Package database opens the SQLite or PostgreSQL database named by a URL,
// applies the embedded migrations and offers the few helpers every store
// shares: transactions, a WHERE builder and error classification.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL flavour behind a DB. Stores branch on it only in small
// named helpers, where the two databases truly differ.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a *sql.DB that knows its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
	// statements counts the SQL statements sent, for the benchmark's
	// statements-per-page figure.
	statements *atomic.Int64
	// trips counts the round trips those statements took: one each, but
	// one for a whole ReadSet sent as a batch.
	trips *atomic.Int64
	// tx is the caller's transaction a DB made by WithTx runs in.
	tx *sql.Tx
	// dsn is the driver's data source name, for connections of other
	// drivers to the same database (River's LISTEN connection).
	dsn string
	// committed is called after each transaction of InTx commits (the
	// live events hub's wake-up on SQLite); shared by WithTx copies.
	committed *commitHooks
	// conns are the connections of the transactions InTx began on
	// PostgreSQL, for COPY (copy.go); shared by WithTx copies.
	conns *txConns
	// rowByRow turns the bulk write path off (RowByRow).
	rowByRow bool
	// writers queues this process's SQLite transactions (queueWriter);
	// shared by WithTx copies. Nil on PostgreSQL.
	writers *writeQueue
}

// writeQueue lets one SQLite transaction of the process in at a time:
// turn is the token, waiting counts those blocked on it.
type writeQueue struct {
	turn    chan struct{}
	waiting atomic.Int32
}

// WritersWaiting is how many of this process's SQLite transactions are
// waiting for their turn to begin (0 on PostgreSQL).
func (db *DB) WritersWaiting() int {
	if db.writers == nil {
		return 0
	}
	return int(db.writers.waiting.Load())
}

// OnCommit adds fn to the functions called after every transaction begun
// by InTx commits (not after a savepoint: the caller's transaction commits
// later), and returns its removal. fn must be quick and must not block:
// the live events hub uses it on SQLite, where no other process writes and
// no NOTIFY exists, to read the new events at once.
func (db *DB) OnCommit(fn func()) (remove func()) {
	h := db.committed
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	id := h.seq
	next := map[uint64]func(){id: fn}
	if cur := h.fns.Load(); cur != nil {
		for k, f := range *cur {
			next[k] = f
		}
	}
	h.fns.Store(&next)
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		next := map[uint64]func(){}
		if cur := h.fns.Load(); cur != nil {
			for k, f := range *cur {
				if k != id {
					next[k] = f
				}
			}
		}
		h.fns.Store(&next)
	}
}

// commitHooks are the functions OnCommit added; reading them after a
// commit takes no lock.
type commitHooks struct {
	mu  sync.Mutex
	seq uint64
	fns atomic.Pointer[map[uint64]func()]
}

func (h *commitHooks) run() {
	if fns := h.fns.Load(); fns != nil {
		for _, fn := range *fns {
			fn()
		}
	}
}

// DSN is the driver data source name the DB was opened with: the URL for
// PostgreSQL, the file DSN with its pragmas for SQLite.
func (db *DB) DSN() string { return db.dsn }

// Statements returns how many SQL statements (queries and execs) the
// application has sent through db since it was opened.
func (db *DB) Statements() int64 { return db.statements.Load() }

// RoundTrips returns how many times the application has waited for the
// database since db was opened: a statement sent alone is one, a ReadSet
// sent as one batch (PostgreSQL) is one. BEGIN and COMMIT are counted by
// neither figure.
func (db *DB) RoundTrips() int64 { return db.trips.Load() }

// Querier is what both *sql.DB and *sql.Tx offer; helpers that may run
// inside or outside a transaction take it.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open connects to the database named by rawURL: "postgres://…" or
// "postgresql://…" for PostgreSQL, "sqlite:path/to/file.db" (or a bare path)
// for SQLite. A SQLite file's folder is created when missing.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	dialect, dsn, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	n, trips := new(atomic.Int64), new(atomic.Int64)
	switch dialect {
	case Postgres:
		var connDSN string
		if connDSN, err = withPlannerDefaults(dsn); err != nil {
			return nil, err
		}
		db, err = openCounting("pgx", connDSN, n, trips, false)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// Every connection keeps its own prepared statements (pgx's
		// statement cache): one closed as surplus idle and opened again
		// at the next burst parses and plans each statement anew. So the
		// pool keeps all its connections while they are in use and lets
		// them go only after minutes of quiet.
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
	case SQLite:
		db, err = openCounting("sqlite", dsn, n, trips, true)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// WAL allows one writer and many readers; _txlock=immediate makes
		// writers queue on busy_timeout instead of failing.
		db.SetMaxOpenConns(sqliteIdleConns)
		db.SetMaxIdleConns(sqliteIdleConns)
		db.SetConnMaxIdleTime(0)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialect, err)
	}
	out := &DB{DB: db, Dialect: dialect, statements: n, trips: trips, dsn: dsn, committed: new(commitHooks), conns: new(txConns)}
	if dialect == SQLite {
		out.writers = &writeQueue{turn: make(chan struct{}, 1)}
	}
	return out, nil
}

// PlannerDefaults are the PostgreSQL planner settings the server's own
// connections start with (sent in the startup message) unless the
// database URL names them, e.g. ?random_page_cost=4.
//
// random_page_cost 1.1 instead of PostgreSQL's 4 says what holds for a
// CRM's base: it is in memory or on an SSD, where an index probe costs
// about what a sequential page does. With 4 the planner reads a small
// table whole rather than probe it: the company list joined its page of
// 50 ids to companies by a hash join over every row (1.6 ms on 2,000
// companies, 0.35 ms by the primary key), and the list was a third of the
// PostgreSQL time of the load test's mix. The URL the DB keeps (DSN) stays
// as given: pg_dump and River get it as the operator wrote it.
var PlannerDefaults = map[string]string{"random_page_cost": "1.1"}

func withPlannerDefaults(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	for k, v := range PlannerDefaults {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// SQLiteDSN builds the driver DSN for a SQLite file. The pragmas come in this
// order for a reason: busy_timeout first so that the following pragmas wait
// for a lock instead of failing; WAL for concurrent readers; foreign keys on;
// synchronous NORMAL (safe with WAL); immediate transactions so that
// read-then-write transactions take the write lock at BEGIN.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(ON)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
}

func parseURL(raw string) (Dialect, string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", "", errors.New("database URL is empty")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", fmt.Errorf("database URL: %w", err)
		}
		return Postgres, raw, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite://"), "sqlite:")
	if strings.Contains(path, "://") {
		return "", "", fmt.Errorf("database URL %q: unknown scheme (use postgres:// or sqlite:)", raw)
	}
	if path == ":memory:" || path == "" {
		return "", "", errors.New("sqlite needs a file path (:memory: is not supported)")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", "", fmt.Errorf("create database folder: %w", err)
		}
	}
	return SQLite, SQLiteDSN(path), nil
}

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise (also on panic). On a DB bound to a caller's transaction
// (WithTx) fn runs in that transaction inside a savepoint: its writes
// commit or roll back with the caller's, and an error rolls back only
// what fn wrote, so the caller may go on (an import skipping a bad row).
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	return db.inTx(ctx, false, fn)
}

// InBulkTx is InTx for a long transaction that writes hundreds of
// thousands of rows (an import). On SQLite its connection keeps statement
// journals in memory (temp_store = MEMORY, set before BEGIN and put back
// after the transaction ends): each multi-row INSERT in a transaction
// journals the pages it changes so that it alone can be undone, and past
// 64 KiB SQLite spills that journal to a temporary file — 11 % of the CPU
// of an import of 100,000 rows went to those writes. The setting has to
// come before BEGIN: SQLite decides where a transaction's statement
// journals go when it begins (so BulkSession, inside the transaction, was
// too late for it). PostgreSQL: the same as InTx.
func (db *DB) InBulkTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTx(ctx, true, fn)
}

func (db *DB) inTx(ctx context.Context, bulk bool, fn func(tx *sql.Tx) error) (err error) {
	if db.tx != nil {
		return db.inSavepoint(ctx, fn)
	}
	tx, end, err := db.begin(ctx, bulk)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer end()
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	db.committed.run()
	return nil
}

// begin starts InTx's transaction and records its dialect for TxDialect
// until end. On PostgreSQL it takes a connection
// of its own first and remembers it as the transaction's, so that bulk
// writes in the transaction can COPY through it; end (deferred before the
// transaction's own cleanup, so run after it) forgets it and returns it
// to the pool.
func (db *DB) begin(ctx context.Context, bulk bool) (tx *sql.Tx, end func(), err error) {
	if db.Dialect == SQLite {
		leave, err := db.queueWriter(ctx)
		if err != nil {
			return nil, nil, err
		}
		var finish func()
		if bulk {
			tx, finish, err = db.beginBulkSQLite(ctx)
		} else if tx, err = db.BeginTx(ctx, nil); err == nil {
			openTxs.Store(tx, db.Dialect)
			finish = func() { openTxs.Delete(tx) }
		}
		if err != nil {
			leave()
			return nil, nil, err
		}
		return tx, func() { finish(); leave() }, nil
	}
	if db.conns == nil {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, nil, err
		}
		openTxs.Store(tx, db.Dialect)
		return tx, func() { openTxs.Delete(tx) }, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if tx, err = conn.BeginTx(ctx, nil); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	db.conns.m.Store(tx, conn)
	openTxs.Store(tx, db.Dialect)
	return tx, func() {
		openTxs.Delete(tx)
		db.conns.m.Delete(tx)
		_ = conn.Close()
	}, nil
}

// writerWait is how long a SQLite transaction waits for its turn in this
// process's queue: the connection's busy_timeout (SQLiteDSN), the wait
// SQLite itself would allow.
const writerWait = 10 * time.Second

// queueWriter waits for this process's turn to begin a SQLite
// transaction and returns its release. Every InTx transaction on SQLite
// takes the database's write lock at BEGIN (_txlock=immediate), and one
// that finds it taken used to wait in SQLite's busy handler, which sleeps
// 1, 2, 5, 10 … 100 ms between tries: under load a PATCH waited up to
// half a second after the lock was free (p99 520 ms against 230 ms for
// reads). Here the process's writers wait on a channel instead, woken in
// arrival order the moment the one before them ends; the busy handler
// remains for writers in other processes (River's, another crm), which
// are rare. After writerWait the transaction goes ahead without its turn
// and meets the busy handler, as before.
func (db *DB) queueWriter(ctx context.Context) (leave func(), err error) {
	q := db.writers
	if q == nil {
		return func() {}, nil
	}
	leave = func() { <-q.turn }
	select {
	case q.turn <- struct{}{}:
		return leave, nil
	default:
	}
	q.waiting.Add(1)
	defer q.waiting.Add(-1)
	t := time.NewTimer(writerWait)
	defer t.Stop()
	select {
	case q.turn <- struct{}{}:
		return leave, nil
	case <-t.C:
		return func() {}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// beginBulkSQLite begins InBulkTx's transaction on SQLite on a connection
// of its own whose statement journals stay in memory; end puts the
// connection's temp_store back before returning it to the pool.
func (db *DB) beginBulkSQLite(ctx context.Context) (tx *sql.Tx, end func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	restore := func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = DEFAULT`)
		_ = conn.Close()
	}
	if tx, err = conn.BeginTx(ctx, nil); err != nil {
		restore()
		return nil, nil, err
	}
	openTxs.Store(tx, db.Dialect)
	return tx, func() {
		openTxs.Delete(tx)
		restore()
	}, nil
}

// savepoint names the savepoint of a store call in a bound transaction.
// Both databases allow the name to repeat: ROLLBACK TO and RELEASE act on
// the innermost one, so nested calls need no numbering.
const savepoint = "store_call"

// inSavepoint runs fn in the bound transaction between SAVEPOINT and
// RELEASE, rolling back to the savepoint when fn fails or panics.
func (db *DB) inSavepoint(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	if _, err := db.tx.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	undo := func() {
		bg := context.WithoutCancel(ctx)
		_, _ = db.tx.ExecContext(bg, "ROLLBACK TO SAVEPOINT "+savepoint)
		_, _ = db.tx.ExecContext(bg, "RELEASE SAVEPOINT "+savepoint)
	}
	defer func() {
		if p := recover(); p != nil {
			undo()
			panic(p)
		}
		if err != nil {
			undo()
		}
	}()
	if err = fn(db.tx); err != nil {
		return err
	}
	if _, err = db.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+savepoint); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// WithTx returns a DB bound to the caller's transaction tx: its queries
// run in tx and its InTx joins tx (in a savepoint) instead of starting
// its own. Stores offer WithTx built on it, so one InTx can span stores
// (merge, import) without handlers touching SQL:
//
//	err := db.InTx(ctx, func(tx *sql.Tx) error {
//		if _, err := companies.WithTx(tx).Update(ctx, scope, id, in, false); err != nil {
//			return err
//		}
//		_, err := notes.WithTx(tx).Create(ctx, scope, note)
//		return err
//	})
func (db *DB) WithTx(tx *sql.Tx) *DB {
	bound := *db
	bound.tx = tx
	return &bound
}

// ExecContext runs a statement in the bound transaction, or on the pool.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if db.tx != nil {
		return db.tx.ExecContext(ctx, query, args...)
	}
	return db.DB.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the bound transaction, or on the pool.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if db.tx != nil {
		return db.tx.QueryContext(ctx, query, args...)
	}
	return db.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the bound transaction, or on the
// pool.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if db.tx != nil {
		return db.tx.QueryRowContext(ctx, query, args...)
	}
	return db.DB.QueryRowContext(ctx, query, args...)
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// either database.
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Now is the current time as the database stores it: UTC, microseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// UTC normalises a time read from either driver to UTC.
func UTC(t time.Time) time.Time { return t.UTC() }

// NullInt64 turns 0 into SQL NULL, for optional foreign keys.
func NullInt64(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: v != 0} }

// NullTime turns the zero time into SQL NULL.
func NullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }
