package database

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxBatchParams keeps one multi-row statement under SQLite's limit of
// 32,766 bound parameters (PostgreSQL allows 65,535).
const maxBatchParams = 30000

// BatchSize is how many rows of width columns fit in one multi-row
// statement.
func BatchSize(width int) int { return max(1, maxBatchParams/width) }

// pieceMax is the most rows one statement of a bulk write carries on
// PostgreSQL, where each statement is a round trip.
const pieceMax = 512

// sqlitePieceMax is pieceMax on SQLite. A multi-row statement there
// journals every page it changes until it ends (in memory in a bulk
// transaction, InBulkTx), so that it alone can be undone: 512 rows into a
// table with 13 indexes change up to 7,000 pages (28 MB) once the indexes
// have more leaves than that, and the larger the base, the nearer it
// comes — an import of 1,000,000 rows peaked at 212 MB against 170 MB at
// 100,000. 128 rows bound it to a quarter; the CPU is the same (an import
// of 100,000 rows into a base of 300,000: 33.1 s either way, peak 193 →
// 176 MB).
const sqlitePieceMax = 128

// Pieces splits n rows of width columns into the row counts of the
// statements that write them on d: the largest power of two that
// BatchSize and the dialect's most rows (pieceMax, sqlitePieceMax) allow,
// as often as it fits, then the binary digits of the rest (1,000 rows of
// 3 columns on PostgreSQL: 512, 256, 128, 64, 32, 8). Whatever n, a bulk
// write sends the same few statement texts, so each database parses and
// plans them once — SQLite's cache of prepared statements (count.go),
// pgx's on PostgreSQL — instead of once per batch: a batch of any other
// size was a new text each time, and compiling those was an eighth of an
// import's CPU on SQLite.
func Pieces(d Dialect, n, width int) []int {
	most := pieceMax
	if d == SQLite {
		most = sqlitePieceMax
	}
	top := 1
	for top*2 <= min(BatchSize(width), most) {
		top *= 2
	}
	var out []int
	for ; n >= top; n -= top {
		out = append(out, top)
	}
	for p := top / 2; p > 0; p /= 2 {
		if n >= p {
			out = append(out, p)
			n -= p
		}
	}
	return out
}

// Values returns the VALUES list "(…), (…)" of rows (all of one width)
// and their arguments. SQLite gets "?" placeholders: its driver looks "$N"
// names up one by one, which makes a statement with thousands of them
// quadratic; PostgreSQL gets "$1…$N".
func (db *DB) Values(rows [][]any) (string, []any) {
	var b strings.Builder
	var args []any
	if len(rows) > 0 {
		// Sized once: grown row by row, the arguments were copied over
		// and over (1.7 % of an import's CPU on SQLite).
		args = make([]any, 0, len(rows)*len(rows[0]))
		b.Grow(len(rows) * (4 + 4*len(rows[0])))
	}
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range r {
			if j > 0 {
				b.WriteString(", ")
			}
			if db.Dialect == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteString("$" + strconv.Itoa(len(args)+j+1))
			}
		}
		b.WriteByte(')')
		args = append(args, r...)
	}
	return b.String(), args
}

// InsertRows writes rows with head ("INSERT INTO t (a, b)") in as few
// statements as the parameter limit allows.
func (db *DB) InsertRows(ctx context.Context, q Querier, head string, rows [][]any) error {
	return db.UpsertRows(ctx, q, head, "", rows)
}

// UpsertRows is InsertRows with tail ("ON CONFLICT (…) DO …") after each
// statement's VALUES list.
func (db *DB) UpsertRows(ctx context.Context, q Querier, head, tail string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if tail == "" {
		if done, err := db.copyRows(ctx, q, head, rows); done {
			return err
		}
	}
	if tail != "" {
		tail = " " + tail
	}
	start := 0
	for _, n := range Pieces(db.Dialect, len(rows), len(rows[0])) {
		values, args := db.Values(rows[start : start+n])
		if _, err := q.ExecContext(ctx, head+" VALUES "+values+tail, args...); err != nil {
			return fmt.Errorf("%s: %w", head, err)
		}
		start += n
	}
	return nil
}

// InsertReturningIDs inserts rows into a table with an identity id and
// returns the new ids in the order of rows, one statement per piece
// (Pieces). Both databases assign identity values in VALUES order, and
// each piece's after the last's; RETURNING order is not promised, so each
// piece's ids are sorted.
func (db *DB) InsertReturningIDs(ctx context.Context, q Querier, head string, rows [][]any) ([]int64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(rows))
	start := 0
	for _, n := range Pieces(db.Dialect, len(rows), len(rows[0])) {
		got, err := db.insertReturning(ctx, q, head, rows[start:start+n])
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
		start += n
	}
	return ids, nil
}

func (db *DB) insertReturning(ctx context.Context, q Querier, head string, rows [][]any) ([]int64, error) {
	values, args := db.Values(rows)
	res, err := q.QueryContext(ctx, head+" VALUES "+values+" RETURNING id", args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", head, err)
	}
	defer func() { _ = res.Close() }()
	ids := make([]int64, 0, len(rows))
	for res.Next() {
		var id int64
		if err := res.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	if len(ids) != len(rows) {
		return nil, fmt.Errorf("%s: %d ids for %d rows", head, len(ids), len(rows))
	}
	slices.Sort(ids)
	return ids, nil
}

// PrefixEnd is the exclusive upper bound of the strings that start with p:
// "col >= p AND col < PrefixEnd(p)" is a prefix match that both databases
// answer from a byte-ordered index (COLLATE "C" in PostgreSQL).
func PrefixEnd(p string) string { return p + "\U0010FFFF" }

// SortRows orders the rows of a bulk write by their first key columns
// (string, int64, int or bool values), the key of the index they mostly
// go into. Inserted in key order, consecutive rows land on the same few
// B-tree pages, which stay hot, instead of each on a page of its own
// somewhere in the index: on SQLite an import of 100,000 rows spent
// 3.3 → 1.8 s CPU on contact_terms and 1.9 → 0.9 s on name_trigrams. The
// rows written are the same; only their order (and so the rowids of a
// table that has them) changes.
func SortRows(rows [][]any, key int) {
	slices.SortFunc(rows, func(a, b []any) int {
		for i := range key {
			if c := compareValue(a[i], b[i]); c != 0 {
				return c
			}
		}
		return 0
	})
}

func compareValue(a, b any) int {
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case int64:
		return cmp.Compare(x, b.(int64))
	case int:
		return cmp.Compare(x, b.(int))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case y:
			return -1
		}
		return 1
	}
	panic(fmt.Sprintf("SortRows: cannot order %T", a))
}
