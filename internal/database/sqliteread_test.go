package database_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// sqliteRead begins a SQLiteRead on db, closed when the test ends.
func sqliteRead(t *testing.T, db *database.DB) *database.SQLiteRead {
	t.Helper()
	tx, err := db.BeginSQLiteRead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tx.Close)
	return tx
}

// probeRow is one row of read_probe as scanned: the values as
// strings, so that the two readers' rows compare.
func scanProbe(t *testing.T, q database.Streamer, query string, args ...any) []string {
	t.Helper()
	rows, err := q.Stream(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var (
			id, n64 int64
			n       int
			s       string
			ns      sql.NullString
			ni      sql.NullInt64
			nf      sql.NullFloat64
			texts   = database.NewTexts(1)
			text    string
		)
		if err := rows.Scan(&id, &n64, &n, &s, &ns, &ni, &nf, texts.Dest(0)); err != nil {
			t.Fatal(err)
		}
		texts.Strings(&text)
		out = append(out, fmt.Sprintf("%d|%d|%d|%q|%v|%v|%v|%q", id, n64, n, s, ns, ni, nf, text))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSQLiteReadScansAsDatabaseSQLDoes: integers (also from text), text
// (Cyrillic, empty, 100,000 characters), NULLs into the sql.Null types,
// floats — every row reads the same through SQLiteRead as through
// database/sql and the driver. On PostgreSQL BeginSQLiteRead refuses.
func TestSQLiteReadScansAsDatabaseSQLDoes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if db.Dialect == database.Postgres {
			if _, err := db.BeginSQLiteRead(ctx); err == nil {
				t.Fatal("a SQLite read began on PostgreSQL")
			}
			return
		}
		if _, err := db.ExecContext(ctx, `CREATE TABLE read_probe (id INTEGER PRIMARY KEY, n BIGINT, s TEXT, ns TEXT, ni BIGINT, nf REAL, t TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("Ромашка; ", 11112)
		for _, r := range [][]any{
			{1, 42, "ООО «Ромашка»", "есть", 7, 1.5, "текст"},
			{2, -9000000000, "", nil, nil, nil, ""},
			{3, 0, long, "", 0, 0.0, long},
			{4, "17", "x", "a\x00b", -1, -2.25, "\t;\"\n"},
		} {
			if _, err := db.ExecContext(ctx, `INSERT INTO read_probe VALUES ($1, $2, $3, $4, $5, $6, $7)`, r...); err != nil {
				t.Fatal(err)
			}
		}
		query := `SELECT id, n, n, s, ns, ni, nf, t FROM read_probe ORDER BY id`
		want := scanProbe(t, database.SQLStreamer{Q: db}, query)
		got := scanProbe(t, sqliteRead(t, db), query)
		if len(got) != len(want) || len(want) != 4 {
			t.Fatalf("%d rows, database/sql %d, want 4", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("row %d:\n got %.200s\nwant %.200s", i+1, got[i], want[i])
			}
		}
	})
}

// TestSQLiteReadRefusesWhatDatabaseSQLRefuses: a NULL into an integer or
// a string, text that is not a number into an integer, a destination it
// does not know, too few destinations, Scan before Next, a bad statement
// and an argument it cannot bind are errors, never a value.
func TestSQLiteReadRefusesWhatDatabaseSQLRefuses(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	tx := sqliteRead(t, db)
	ctx := context.Background()
	one := func(query string, dest ...any) error {
		rows, err := tx.Stream(ctx, query)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		if len(dest) > 0 && !rows.Next() {
			t.Fatalf("%s: no row (%v)", query, rows.Err())
		}
		return rows.Scan(dest...)
	}
	var (
		n int64
		s string
		f float32
	)
	for name, err := range map[string]error{
		"NULL into *int64":   one(`SELECT NULL`, &n),
		"NULL into *string":  one(`SELECT NULL`, &s),
		"text into *int64":   one(`SELECT 'двенадцать'`, &n),
		"unknown type":       one(`SELECT 1.5`, &f),
		"too few":            one(`SELECT 1, 2`, &n),
		"Scan without a row": one(`SELECT 1`),
		"bad statement":      one(`SELEKT 1`),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := tx.Stream(ctx, `SELECT $1`, struct{}{}); err == nil {
		t.Error("a struct bound as an argument")
	}
	if _, err := tx.Stream(ctx, `SELECT $2`, 1); err == nil {
		t.Error("$2 bound with one argument")
	}
	if _, err := tx.Stream(ctx, `SELECT :name`, 1); err == nil {
		t.Error("a named parameter bound")
	}
	tx.Close()
	if _, err := tx.Stream(ctx, `SELECT 1`); err == nil {
		t.Error("a closed read ran a statement")
	}
	tx.Close() // again: nothing happens
}

// TestSQLiteReadSaysWhyItCannotOpen: a base whose file is not there
// (moved away while the pool has it open) is an error naming SQLite's
// reason, not a read of nothing.
func TestSQLiteReadSaysWhyItCannotOpen(t *testing.T) {
	url := dbtest.URL(t, database.SQLite)
	db, err := database.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	path := strings.TrimPrefix(url, "sqlite:")
	if err := os.Rename(path, path+".away"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Rename(path+".away", path) }()
	tx, err := db.BeginSQLiteRead(context.Background())
	if err == nil {
		tx.Close()
		t.Fatal("a read began on a file that is not there")
	}
	if !strings.Contains(err.Error(), "open") {
		t.Errorf("the error does not say what failed: %v", err)
	}
}

// TestSQLiteReadBindsAsTheDriver: each kind of argument, by $N (in any
// order, repeated) and by ?, binds to the same value as the driver binds
// it — a time as the text the driver stores, so that it finds the row
// the driver wrote.
func TestSQLiteReadBindsAsTheDriver(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 9, 30, 15, 123456789, time.FixedZone("MSK", 3*3600))
	if _, err := db.ExecContext(ctx, `CREATE TABLE bind_probe (at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO bind_probe VALUES ($1)`, at); err != nil {
		t.Fatal(err)
	}
	args := []any{int64(-5), 7, int32(8), 2.5, true, false, "Ромашка", []byte("байты"), nil, at, []byte(nil)}
	var cols []string
	for i := range args {
		cols = append(cols, fmt.Sprintf("typeof($%d) || ':' || COALESCE(CAST($%d AS TEXT), 'NULL')", i+1, i+1))
	}
	query := `SELECT ` + strings.Join(cols, " || '|' || ") + `, $10 = (SELECT at FROM bind_probe), (SELECT COUNT(*) FROM bind_probe WHERE at = $10)`
	read := func(q database.Streamer, query string, args ...any) string {
		t.Helper()
		rows, err := q.Stream(ctx, query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
		var (
			s          string
			same, many int64
		)
		if err := rows.Scan(&s, &same, &many); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s same=%d found=%d", s, same, many)
	}
	want := read(database.SQLStreamer{Q: db}, query, args...)
	got := read(sqliteRead(t, db), query, args...)
	if got != want {
		t.Errorf("bound as\n%s\nthe driver binds\n%s", got, want)
	}
	if !strings.HasSuffix(got, "same=1 found=1") {
		t.Errorf("the time did not find its row: %s", got)
	}
	if got, want := read(sqliteRead(t, db), `SELECT $2 || $1 || $2, 0, 0`, "a", "b"), "bab same=0 found=0"; got != want {
		t.Errorf("$2 $1 $2 bound as %q, want %q", got, want)
	}
	if got, want := read(sqliteRead(t, db), `SELECT ? || ?, 0, 0`, "a", "b"), "ab same=0 found=0"; got != want {
		t.Errorf("? ? bound as %q, want %q", got, want)
	}
}

// TestSQLiteReadKeepsItsSnapshot: what commits after a SQLiteRead's first
// read is not in it, however many statements it runs afterwards; a new
// one sees it; it never writes, and it caches pages as a reader does.
func TestSQLiteReadKeepsItsSnapshot(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE snap_probe (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO snap_probe VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	count := func(q database.Streamer) int64 { return readOne(t, q, `SELECT COUNT(*) FROM snap_probe`) }
	old := sqliteRead(t, db)
	if n := count(old); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO snap_probe VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	if n := count(old); n != 1 {
		t.Errorf("the snapshot sees %d rows after a commit, want 1", n)
	}
	if n := count(sqliteRead(t, db)); n != 2 {
		t.Errorf("a new read sees %d rows, want 2", n)
	}
	rows, err := old.Stream(ctx, `INSERT INTO snap_probe VALUES (3)`)
	if err == nil {
		rows.Next()
		err = rows.Close()
	}
	if err == nil {
		t.Error("a SQLite read wrote")
	}
	// Its page cache is the small one of a reader (sqliteReadCacheKiB),
	// not SQLite's default of 2,000 KiB.
	if n := readOne(t, old, `PRAGMA cache_size`); n != -500 {
		t.Errorf("cache_size %d, want -500", n)
	}
}

// TestSQLiteReadStopsWhenTheContextEnds: a statement ends, with the
// context's error, at its next row after its context is cancelled, or
// inside a step that would take seconds (a sort of ten million rows
// before its first); Stream refuses to start on an ended context.
func TestSQLiteReadStopsWhenTheContextEnds(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	tx := sqliteRead(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := tx.Stream(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) SELECT i FROM n`)
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for rows.Next() {
		if read++; read == 10 {
			cancel()
		}
	}
	if !errors.Is(rows.Err(), context.Canceled) {
		t.Errorf("rows ended with %v, want the context's error", rows.Err())
	}
	if read != 10 {
		t.Errorf("%d rows read after the cancel", read-10)
	}
	if err := rows.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close: %v", err)
	}
	if _, err := tx.Stream(ctx, `SELECT 1`); !errors.Is(err, context.Canceled) {
		t.Errorf("Stream on an ended context: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	rows, err = tx.Stream(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) SELECT i FROM n ORDER BY -i`)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	if rows.Next() {
		t.Error("the sort gave its first row although its context ended inside it")
	}
	if !errors.Is(rows.Err(), context.Canceled) {
		t.Errorf("the sort ended with %v, want the context's error", rows.Err())
	}
	if got := readOne(t, tx, `SELECT 7`); got != 7 {
		t.Errorf("after an interrupt the read reads %d", got)
	}
}

// readOne is the one integer query gives.
func readOne(t *testing.T, q database.Streamer, query string) int64 {
	t.Helper()
	rows, err := q.Stream(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var n int64
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	if err := rows.Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSQLiteReadServesTwoGoroutines: two goroutines stepping their own
// statements on one SQLiteRead at once each read every row (the race
// detector watches the connection's memory), and Close finalizes a
// statement left open.
func TestSQLiteReadServesTwoGoroutines(t *testing.T) {
	db := dbtest.New(t, database.SQLite)
	tx := sqliteRead(t, db)
	ctx := context.Background()
	var wg sync.WaitGroup
	sums := make([]int64, 2)
	for g := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, err := tx.Stream(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i, 'строка ' || i, i * 2 FROM n`)
			if err != nil {
				t.Error(err)
				return
			}
			defer func() { _ = rows.Close() }()
			texts := database.NewTexts(1)
			var i, twice int64
			dest := []any{&i, texts.Dest(0), &twice}
			for rows.Next() {
				if err := rows.Scan(dest...); err != nil {
					t.Error(err)
					return
				}
				var s string
				texts.Strings(&s)
				if s != fmt.Sprintf("строка %d", i) || twice != 2*i {
					t.Errorf("row %d read as %q, %d", i, s, twice)
					return
				}
				sums[g] += i
			}
			if err := rows.Err(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for g, s := range sums {
		if s != 20000*20001/2 {
			t.Errorf("goroutine %d summed %d", g, s)
		}
	}
	left, err := tx.Stream(ctx, `SELECT 1 UNION ALL SELECT 2`)
	if err != nil {
		t.Fatal(err)
	}
	left.Next()
	tx.Close()
	if left.Next() {
		t.Error("a statement stepped after its read was closed")
	}
	_ = left.Close()
}
