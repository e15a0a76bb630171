package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync/atomic"
)

// Statement counting: every query and exec the application sends goes
// through a thin connector wrapper that adds one to DB.Statements. The
// benchmark reads it to report SQL statements per page; it costs one
// atomic add per statement.

type countingConnector struct {
	driver.Connector
	n *atomic.Int64
	// trips counts the round trips: each statement sent alone is one.
	trips *atomic.Int64
	// cacheStatements keeps each connection's prepared statements for
	// reuse (SQLite; pgx caches its own).
	cacheStatements bool
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: conn, n: c.n, trips: c.trips}
	if c.cacheStatements {
		cc.stmts = map[string]*cachedStmt{}
	}
	return cc, nil
}

// countingConn forwards every optional driver interface that database/sql
// looks for, so wrapping changes no behaviour but the count — and, when
// stmts is set, the reuse of prepared statements.
type countingConn struct {
	driver.Conn
	n     *atomic.Int64
	trips *atomic.Int64
	stmts map[string]*cachedStmt
	text  int // bytes of SQL in stmts
}

// Statement cache: SQLite compiles every statement it is handed, and under
// load parsing and planning the same few dozen queries took a fifth of the
// server's CPU. database/sql uses a connection from one goroutine at a
// time, so each connection keeps its own statements without locks. A
// statement whose rows are still open (a query run again while its rows
// are read, inside one transaction) is not reused: that run gets a fresh
// one-off statement. Only single statements are kept (multi-statement
// scripts such as migrations run as before), and at most maxCachedStmts
// per connection, of at most maxCachedText bytes of SQL together: past
// either the cache starts over. A compiled statement takes memory in
// proportion to its text, and a bulk write's multi-row statements are
// ~100 KB each: 200 of them held ~300 MB (an import's peak RSS).

const (
	maxCachedStmts = 200
	maxCachedText  = 1 << 20
)

type cachedStmt struct {
	stmt driver.Stmt
	busy bool
}

// cached returns the connection's prepared statement for query, or nil
// when it must not or cannot be reused.
func (c *countingConn) cached(ctx context.Context, query string) *cachedStmt {
	if c.stmts == nil {
		return nil
	}
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil
		}
		return cs
	}
	if strings.Contains(query, ";") {
		return nil // a script, or a literal with a semicolon: not worth telling apart
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil // the one-off path reports the error
	}
	if _, ok := st.(driver.StmtQueryContext); !ok {
		_ = st.Close()
		return nil
	}
	if len(c.stmts) >= maxCachedStmts || c.text+len(query) > maxCachedText {
		c.closeStmts()
	}
	cs := &cachedStmt{stmt: st}
	c.stmts[query] = cs
	c.text += len(query)
	return cs
}

func (c *countingConn) closeStmts() {
	for q, cs := range c.stmts {
		if !cs.busy {
			_ = cs.stmt.Close()
		}
		delete(c.stmts, q)
	}
	c.text = 0
}

// Close closes the cached statements, then the connection.
func (c *countingConn) Close() error {
	c.closeStmts()
	return c.Conn.Close()
}

// releasingRows marks a cached statement free again when its rows close.
type releasingRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *releasingRows) Close() error {
	r.cs.busy = false
	return r.Rows.Close()
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.Add(1)
	c.trips.Add(1)
	if cs := c.cached(ctx, query); cs != nil {
		rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err != nil {
			return nil, err
		}
		cs.busy = true
		return &releasingRows{Rows: rows, cs: cs}, nil
	}
	return q.QueryContext(ctx, query, args)
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.Add(1)
	c.trips.Add(1)
	if cs := c.cached(ctx, query); cs != nil {
		if ex, ok := cs.stmt.(driver.StmtExecContext); ok {
			return ex.ExecContext(ctx, args)
		}
	}
	return e.ExecContext(ctx, query, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Prepare(query)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // fallback for drivers without BeginTx
}

func (c *countingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// openCounting opens a *sql.DB through the named driver with statement
// counting and, with cache set, per-connection statement reuse.
func openCounting(driverName, dsn string, n, trips *atomic.Int64, cache bool) (*sql.DB, error) {
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	_ = probe.Close()
	var connector driver.Connector
	if dc, ok := drv.(driver.DriverContext); ok {
		if connector, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	} else {
		connector = dsnConnector{dsn: dsn, drv: drv}
	}
	return sql.OpenDB(countingConnector{Connector: connector, n: n, trips: trips, cacheStatements: cache}), nil
}

type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// DriverConn returns the driver's own connection under the counting
// wrapper, given what sql.Conn.Raw hands its function, so that a caller
// can reach the driver's extensions (tests register SQLite's authorizer,
// which SQLite calls whenever it compiles a statement).
func DriverConn(raw any) any {
	if c, ok := raw.(*countingConn); ok {
		return c.Conn
	}
	return raw
}
