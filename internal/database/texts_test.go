package database_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// streamers are the ways a test streams db: database/sql, and on a
// connection of its own pgx's own rows on PostgreSQL (PgxTx) or SQLite's
// C API on SQLite (SQLiteRead).
func streamers(t *testing.T, db *database.DB) map[string]database.Streamer {
	t.Helper()
	s := map[string]database.Streamer{"database/sql": database.SQLStreamer{Q: db}}
	if db.Dialect == database.Postgres {
		tx, err := db.BeginPgxRead(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Close(context.Background()) })
		s["pgx"] = tx
	} else {
		tx, err := db.BeginSQLiteRead(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tx.Close)
		s["sqlite"] = tx
	}
	return s
}

// TestTextsScanEachColumnOfEachRow streams rows of text columns
// (Cyrillic, empty, long — longer than pgx's 8 KB read — beside an
// integer) into reused Texts destinations: every row reads back exactly
// as a *string would have it, the strings of a row stay as they were
// after the next rows are scanned, and a NULL is an error, as it is for
// a *string.
func TestTextsScanEachColumnOfEachRow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE texts_probe (id BIGINT PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL, c TEXT)`); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("Ромашка; ", 2000)
		want := [][3]string{{"ООО «Ромашка»", "", "+7 495 123-45-67"}, {"", "", ""}, {long, "b", "  с пробелами  "}, {"x", long, "y"}}
		for i, r := range want {
			if _, err := db.ExecContext(ctx, `INSERT INTO texts_probe (id, a, b, c) VALUES ($1, $2, $3, $4)`, i+1, r[0], r[1], r[2]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO texts_probe (id, a, b, c) VALUES (100, 'null', '', NULL)`); err != nil {
			t.Fatal(err)
		}
		for name, q := range streamers(t, db) {
			t.Run(name, func(t *testing.T) {
				rows, err := q.Stream(ctx, `SELECT id, a, b, c FROM texts_probe ORDER BY id`)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = rows.Close() }()
				var (
					id  int64
					got [][3]string
				)
				texts := database.NewTexts(3)
				dest := []any{&id, texts.Dest(0), texts.Dest(1), texts.Dest(2)}
				for rows.Next() {
					err := rows.Scan(dest...)
					if id == 100 {
						if err == nil {
							t.Error("a NULL scanned without an error")
						}
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					var r [3]string
					texts.Strings(&r[0], &r[1], &r[2])
					got = append(got, r)
				}
				if len(got) != len(want) {
					t.Fatalf("%d rows, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("row %d = %.40q, want %.40q", i+1, got[i], want[i])
					}
				}
			})
		}
	})
}

// TestTextsRejectWhatIsNotText: a destination given something other
// than text by database/sql says so.
func TestTextsRejectWhatIsNotText(t *testing.T) {
	texts := database.NewTexts(1)
	s, ok := texts.Dest(0).(interface{ Scan(any) error })
	if !ok {
		t.Fatal("a Texts destination is not a sql.Scanner")
	}
	if err := s.Scan(int64(1)); err == nil {
		t.Error("an integer scanned as text")
	}
	if err := s.Scan(nil); err == nil {
		t.Error("NULL scanned as text")
	}
	if err := s.Scan([]byte("байты")); err != nil {
		t.Fatal(err)
	}
	var v string
	texts.Strings(&v)
	if v != "байты" {
		t.Errorf("bytes read back as %q", v)
	}
}

// TestTextsKeepEveryRowsStrings scans rows as pgx hands them over (in a
// buffer it overwrites for the next row), of every size from empty to
// several slabs, a thousand rows over many slabs: every string handed out
// still reads as its row had it once all are scanned.
func TestTextsKeepEveryRowsStrings(t *testing.T) {
	texts := database.NewTexts(2)
	type scanner interface{ ScanBytes([]byte) error }
	a, b := texts.Dest(0).(scanner), texts.Dest(1).(scanner)
	var (
		want, got [][2]string
		buf       []byte // pgx's receive buffer, overwritten each row
	)
	for i := range 1000 {
		first := strings.Repeat("ж", i*37%500)
		second := fmt.Sprintf("%d:%s", i, strings.Repeat("x", i*i%7000))
		if i%250 == 0 {
			second = strings.Repeat("й", 100_000) // larger than a slab
		}
		buf = append(append(buf[:0], first...), second...)
		if err := errors.Join(a.ScanBytes(buf[:len(first)]), b.ScanBytes(buf[len(first):])); err != nil {
			t.Fatal(err)
		}
		for j := range buf {
			buf[j] = '#'
		}
		var r [2]string
		texts.Strings(&r[0], &r[1])
		want, got = append(want, [2]string{first, second}), append(got, r)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d = %.40q, want %.40q", i, got[i], want[i])
		}
	}
	if err := a.ScanBytes(nil); err == nil {
		t.Error("a NULL scanned without an error")
	}
}
