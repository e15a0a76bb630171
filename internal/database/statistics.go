package database

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// RefreshStatistics gives SQLite's query planner the one kind of
// statistics the application runs with, in `crm serve` (at start) and in
// `crm bench` (after loading) alike: sqlite_stat1 from a full ANALYZE of
// every table whose row count is not what its statistics say (none yet,
// more than twice as many or half as many, or an index without them), and
// no sqlite_stat4 samples. It returns the tables it analysed. PostgreSQL keeps its own
// (autovacuum): nothing to do.
//
// Why this kind, measured on one base (30,000 companies, 300,000 tasks;
// `crm bench --ops tasks`, CPU per request):
//   - With sqlite_stat4 (a plain ANALYZE: modernc's SQLite is built with
//     STAT4) SQLite prepares every statement that binds a value of an
//     indexed column twice — once, then again with the value to choose
//     the plan by its samples (sqlite3Reprepare): the desk cost 3.2 ms of
//     CPU, its API 2.6 ms.
//   - Without statistics, or with those of ANALYZE under analysis_limit
//     (PRAGMA optimize sets one itself since 3.46), every index is taken
//     to hold at most ~1,000 rows a key: a branch's open tasks were read
//     from the index of all of its tasks, and «все доступные» of a branch
//     director cost 17.6 ms instead of 4.6.
//   - Full sqlite_stat1 without samples: the plans of the full statistics
//     at the cost of one preparation — the desk 1.6 ms, its API 1.4, the
//     lists as with samples.
//
// The samples of an ANALYZE run before (a base an older `crm bench`
// built) are deleted. The analysis runs on one connection; the pool's
// idle connections are then closed, so that each statement after it is
// planned with the new statistics (a connection reads them when it
// opens).
func (db *DB) RefreshStatistics(ctx context.Context) ([]string, error) {
	if db.Dialect != SQLite {
		return nil, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	defer func() { _ = conn.Close() }()
	stale, err := staleTables(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	for _, t := range stale {
		if _, err := conn.ExecContext(ctx, "ANALYZE "+quoteIdent(t)); err != nil {
			return nil, fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	var samples int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat4'`).Scan(&samples); err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	if samples > 0 {
		if _, err := conn.ExecContext(ctx, `DELETE FROM sqlite_stat4`); err != nil {
			return nil, fmt.Errorf("statistics: %w", err)
		}
	}
	if len(stale) > 0 || samples > 0 {
		if _, err := conn.ExecContext(ctx, `ANALYZE sqlite_schema`); err != nil {
			return nil, fmt.Errorf("statistics: %w", err)
		}
		_ = conn.Close()
		db.SetMaxIdleConns(0)
		db.SetMaxIdleConns(sqliteIdleConns)
	}
	return stale, nil
}

// staleTables are the tables, with indexes, whose row count is more than
// twice or less than half the one their sqlite_stat1 rows hold, or that
// have an index without statistics (none yet, or one a migration just
// made), among those of at least minAnalyzedRows rows: below that the
// planner's defaults do as well. ANALYZE writes a row for every index of
// a table that has rows (an empty partial index: "0 0"), so a table it
// analysed is not found stale again for want of one.
func staleTables(ctx context.Context, conn *sql.Conn) ([]string, error) {
	indexes, err := tableIndexes(ctx, conn)
	if err != nil {
		return nil, err
	}
	known, analysed, err := analysedRows(ctx, conn)
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, t := range indexes {
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(t.name)).Scan(&n); err != nil {
			return nil, err
		}
		was, ok := known[t.name]
		if n < minAnalyzedRows && (!ok || was < minAnalyzedRows) {
			continue
		}
		missing := false
		for _, idx := range t.indexes {
			missing = missing || !analysed[idx]
		}
		if missing || n > 2*was || 2*n < was {
			stale = append(stale, t.name)
		}
	}
	return stale, nil
}

// indexedTable is an application table and its indexes: the tables the
// planner chooses among indexes for.
type indexedTable struct {
	name    string
	indexes []string
}

func tableIndexes(ctx context.Context, conn *sql.Conn) ([]indexedTable, error) {
	rows, err := conn.QueryContext(ctx, `SELECT tbl_name, name FROM sqlite_schema
		WHERE type = 'index' AND tbl_name NOT LIKE 'sqlite_%' ORDER BY tbl_name, name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []indexedTable
	for rows.Next() {
		var t, idx string
		if err := rows.Scan(&t, &idx); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].name != t {
			out = append(out, indexedTable{name: t})
		}
		out[len(out)-1].indexes = append(out[len(out)-1].indexes, idx)
	}
	return out, rows.Err()
}

// analysedRows is, per table, the row count its sqlite_stat1 rows hold —
// the first number of each row is the rows of the table or of the index
// (a partial index holds fewer), so the largest is the table's — and the
// indexes that have a row.
func analysedRows(ctx context.Context, conn *sql.Conn) (map[string]int64, map[string]bool, error) {
	known, analysed := map[string]int64{}, map[string]bool{}
	var exists int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'`).Scan(&exists); err != nil || exists == 0 {
		return known, analysed, err
	}
	rows, err := conn.QueryContext(ctx, `SELECT tbl, COALESCE(idx, ''), stat FROM sqlite_stat1`)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var t, idx, stat string
		if err := rows.Scan(&t, &idx, &stat); err != nil {
			return nil, nil, err
		}
		n, _ := strconv.ParseInt(strings.Fields(stat + " 0")[0], 10, 64)
		known[t] = max(known[t], n)
		analysed[idx] = true
	}
	return known, analysed, rows.Err()
}

// minAnalyzedRows is the size below which a table is left without
// statistics: the planner's defaults plan a small table as well.
const minAnalyzedRows = 1000

// sqliteIdleConns is how many idle connections the SQLite pool keeps: all
// it may open (see Open).
const sqliteIdleConns = 8

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
