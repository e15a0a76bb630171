package database

import (
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

// Values returns the VALUES list "(…), (…)" of rows (all of one width)
// and their arguments. SQLite gets "?" placeholders: its driver looks "$N"
// names up one by one, which makes a statement with thousands of them
// quadratic; PostgreSQL gets "$1…$N".
func (db *DB) Values(rows [][]any) (string, []any) {
	var b strings.Builder
	var args []any
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
	if tail != "" {
		tail = " " + tail
	}
	per := BatchSize(len(rows[0]))
	for start := 0; start < len(rows); start += per {
		values, args := db.Values(rows[start:min(start+per, len(rows))])
		if _, err := q.ExecContext(ctx, head+" VALUES "+values+tail, args...); err != nil {
			return fmt.Errorf("%s: %w", head, err)
		}
	}
	return nil
}

// InsertReturningIDs inserts rows (at most BatchSize of their width) into
// a table with an identity id and returns the new ids in the order of
// rows. Both databases assign identity values in VALUES order; RETURNING
// order is not promised, so the ids are sorted.
func (db *DB) InsertReturningIDs(ctx context.Context, q Querier, head string, rows [][]any) ([]int64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
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
