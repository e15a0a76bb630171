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
}

// Statements returns how many SQL statements (queries and execs) the
// application has sent through db since it was opened.
func (db *DB) Statements() int64 { return db.statements.Load() }

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
	n := new(atomic.Int64)
	switch dialect {
	case Postgres:
		db, err = openCounting("pgx", dsn, n, false)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
	case SQLite:
		db, err = openCounting("sqlite", dsn, n, true)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// WAL allows one writer and many readers; _txlock=immediate makes
		// writers queue on busy_timeout instead of failing.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(0)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialect, err)
	}
	return &DB{DB: db, Dialect: dialect, statements: n}, nil
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
// back otherwise (also on panic).
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
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
	return nil
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
