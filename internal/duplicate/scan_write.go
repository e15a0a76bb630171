package duplicate

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// Writing what a scan found, and the groups (migration 00039). A group is
// a connected component of duplicate_pairs, named by one of its companies
// (the smallest when a scan wrote it); each pair carries its group, and
// duplicate_groups holds each group's best score, its size and the fields
// of its reasons (migration 00047), so the page «Дубли» reads a page of
// groups instead of every pair. A full scan labels the groups of what it
// found before it writes; a re-check regroups around the pairs it changed
// (scan_regroup.go).

// groupRow is one row of duplicate_groups.
type groupRow struct {
	id          int64
	score       float64
	size, pairs int64
	bits        int64 // the fields of its pairs' reasons (fieldBits)
}

// reasonFieldList is every field a reason names, in the order of their
// bits in duplicate_groups.field_bits (migration 00047).
var reasonFieldList = []string{"inn", "kpp", "ogrn", "name", "address", "phone", "email", "website"}

// fieldBit is the bit of a reason's field, 0 for a field no reason names.
func fieldBit(field string) int64 {
	if i := slices.Index(reasonFieldList, field); i >= 0 {
		return 1 << i
	}
	return 0
}

// fieldBits is the bits of the fields of a pair (",inn,phone,").
func fieldBits(fields string) int64 {
	var bits int64
	for f := range strings.SplitSeq(strings.Trim(fields, ","), ",") {
		bits |= fieldBit(f)
	}
	return bits
}

// labelGroups sets the group of every pair — the smallest company id of
// its connected component — and returns the groups, in id order. (A
// re-check may later name a group by another of its companies, see
// regroupAround: a group's id is always one of its own companies.)
func labelGroups(pairs []scoredPair) []groupRow {
	return label(len(pairs), func(i int) (int64, int64) { return pairs[i].a, pairs[i].b },
		func(i int, g int64) (float64, int64) {
			pairs[i].group = g
			return pairs[i].score, fieldBits(pairs[i].fields)
		})
}

// labelFound is labelGroups for the pairs of a full scan, whose answers
// are in reasons.
func labelFound(found []foundPair, reasons []scored) []groupRow {
	return label(len(found), func(i int) (int64, int64) { return found[i].a, found[i].b },
		func(i int, g int64) (float64, int64) {
			found[i].group = g
			r := &reasons[found[i].reason]
			return r.score, r.bits
		})
}

// label labels n pairs: pair gives the companies of pair i, and set sets
// its group and gives its score and field bits.
func label(n int, pair func(i int) (a, b int64), set func(i int, g int64) (score float64, bits int64)) []groupRow {
	parent := make(map[int64]int64, n/2)
	find := func(x int64) int64 {
		for {
			p, ok := parent[x]
			if !ok {
				parent[x] = x
				return x
			}
			if p == x {
				return x
			}
			gp := parent[p]
			parent[x] = gp
			x = gp
		}
	}
	for i := range n {
		ra, rb := pair(i)
		ra, rb = find(ra), find(rb)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	byID := map[int64]*groupRow{}
	for i := range n {
		a, _ := pair(i)
		g := find(a)
		score, bits := set(i, g)
		r := byID[g]
		if r == nil {
			r = &groupRow{id: g}
			byID[g] = r
		}
		r.pairs++
		r.score = max(r.score, score)
		r.bits |= bits
	}
	for c := range parent {
		byID[find(c)].size++
	}
	out := make([]groupRow, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		out = append(out, *byID[id])
	}
	return out
}

// replacePairs makes duplicate_pairs hold found (sorted by a, b) and
// nothing else, writing only the difference: the stored pairs are read
// once and compared, those gone or changed are deleted, and the new and
// changed ones inserted (a pair the scan finds again unchanged keeps its
// row and its checked_at). A scan of a base that changed little writes
// little. When most stored pairs are gone the table is emptied at once
// instead (PostgreSQL truncates); when more rows are to be inserted than
// stay, the table's secondary indexes are dropped first and built again
// after (rebuildIndexes). All in the caller's transaction: readers see
// the old pairs or the new ones, never half of them.
func (s *Scanner) replacePairs(ctx context.Context, tx *sql.Tx, found []foundPair, reasons []scored, now time.Time) error {
	texts := make([]string, len(reasons))
	for i, r := range reasons {
		texts[i] = r.reasons
	}
	ids, err := s.reasonIDs(ctx, tx, texts)
	if err != nil {
		return err
	}
	rid := make([]int64, len(reasons))
	for i, r := range reasons {
		rid[i] = ids[r.reasons]
	}
	kept, stale, stored, err := diffPairs(ctx, tx, found, reasons, rid)
	if err != nil {
		return err
	}
	if len(stale) > stored/2 {
		clear(kept)
		stale, stored = nil, 0
	}
	fresh := found
	if n := countTrue(kept); n > 0 {
		fresh = make([]foundPair, 0, len(found)-n)
		for i, p := range found {
			if !kept[i] {
				fresh = append(fresh, p)
			}
		}
	}
	rebuild := len(fresh) >= s.rebuildMin && len(fresh) >= len(found)-len(fresh)
	return s.bulkWrite(ctx, tx, rebuild, func() error {
		if stored == 0 {
			q := `DELETE FROM duplicate_pairs`
			if s.db.Dialect == database.Postgres {
				q = `TRUNCATE duplicate_pairs`
			}
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("clear pairs: %w", err)
			}
		}
		for start := 0; start < len(stale); start += looseChunk {
			q := `DELETE FROM duplicate_pairs WHERE (a_id, b_id) IN (VALUES ` + keyValues(stale[start:min(start+looseChunk, len(stale))]) + `)` //nolint:gosec // integers
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("delete pairs: %w", err)
			}
		}
		return s.insertPairs(ctx, tx, fresh, reasons, rid, now)
	})
}

// countTrue is how many of bs are true.
func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// defaultRebuildMin is the fewest pairs written for which a scan drops
// the secondary indexes of duplicate_pairs and builds them again: below
// it inserting into them costs less than building them from scratch.
const defaultRebuildMin = 50000

// bulkWrite runs write, which writes many pairs in tx. With rebuild the
// secondary indexes of duplicate_pairs (the partner and group lookups)
// are dropped before and created again after, from their own stored
// definitions: a new pair lands at a random place in each of them, and
// millions of random inserts cost many times one sort. The primary key
// stays (the pairs come in its order). SQLite gets a bulk session
// (database.BulkSession) for the transaction, PostgreSQL more memory for
// the sort of each index build.
func (s *Scanner) bulkWrite(ctx context.Context, tx *sql.Tx, rebuild bool, write func() error) error {
	if !rebuild {
		return write()
	}
	restore, err := s.db.BulkSession(ctx, tx)
	if err != nil {
		return err
	}
	indexes, err := s.pairIndexes(ctx, tx)
	if err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+ix.name); err != nil { //nolint:gosec // a name from the catalogue
			return fmt.Errorf("drop index %s: %w", ix.name, err)
		}
	}
	if err := write(); err != nil {
		return err
	}
	if s.db.Dialect == database.Postgres {
		if _, err := tx.ExecContext(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
			return fmt.Errorf("index memory: %w", err)
		}
	}
	for _, ix := range indexes {
		if _, err := tx.ExecContext(ctx, ix.def); err != nil {
			return fmt.Errorf("create index %s: %w", ix.name, err)
		}
	}
	return restore()
}

// pairIndex is one secondary index of duplicate_pairs: its name and the
// statement that creates it.
type pairIndex struct{ name, def string }

// pairIndexes reads the secondary indexes of duplicate_pairs from the
// catalogue, as the migrations made them (not the primary key's).
func (s *Scanner) pairIndexes(ctx context.Context, tx *sql.Tx) ([]pairIndex, error) {
	q := `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'duplicate_pairs' AND sql IS NOT NULL ORDER BY name`
	if s.db.Dialect == database.Postgres {
		q = `SELECT i.indexname, i.indexdef FROM pg_indexes i
			WHERE i.schemaname = current_schema() AND i.tablename = 'duplicate_pairs'
			  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.conrelid = 'duplicate_pairs'::regclass)
			ORDER BY i.indexname`
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("pair indexes: %w", err)
	}
	var out []pairIndex
	err = eachRow(rows, func() error {
		var ix pairIndex
		if err := rows.Scan(&ix.name, &ix.def); err != nil {
			return err
		}
		out = append(out, ix)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pair indexes: %w", err)
	}
	return out, nil
}

// diffPairs reads the stored pairs and reports which of found are stored
// as they are (kept, by index), the keys of the stored pairs that are not
// (stale), and how many are stored. The reasons are compared by id
// (rid: the ids of reasons), the fields as the driver's bytes.
func diffPairs(ctx context.Context, tx *sql.Tx, found []foundPair, reasons []scored, rid []int64) (kept []bool, stale []pairKey, stored int, err error) {
	kept = make([]bool, len(found))
	rows, err := tx.QueryContext(ctx, `SELECT a_id, b_id, score, reasons_id, fields, group_id FROM duplicate_pairs`)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("stored pairs: %w", err)
	}
	err = eachRow(rows, func() error {
		var (
			p      scoredPair
			id     int64
			fields sql.RawBytes
		)
		if err := rows.Scan(&p.a, &p.b, &p.score, &id, &fields, &p.group); err != nil {
			return err
		}
		stored++
		i, ok := slices.BinarySearchFunc(found, p, func(x foundPair, y scoredPair) int {
			return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
		})
		if ok && sameStored(found[i], reasons, rid, p, id, fields) {
			kept[i] = true
		} else {
			stale = append(stale, pairKey{p.a, p.b})
		}
		return nil
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("stored pairs: %w", err)
	}
	return kept, stale, stored, nil
}

// sameStored reports whether the stored pair p, its reasons' id and its
// fields are f.
func sameStored(f foundPair, reasons []scored, rid []int64, p scoredPair, id int64, fields []byte) bool {
	r := &reasons[f.reason]
	return f.group == p.group && rid[f.reason] == id && r.score == p.score && r.fields == string(fields)
}

// keyValues is "(1,2),(3,4)": keys for a VALUES list, written into the
// statement (integers only).
func keyValues(keys []pairKey) string {
	var b []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "(%d,%d)", k.a, k.b)
	}
	return string(b)
}

// bulkChunk is how many pairs one bulk statement writes.
const bulkChunk = 20000

// insertPairs writes pairs (none of them stored yet), bulkChunk at a
// time: on PostgreSQL with COPY (database.InsertRows in a transaction of
// InTx), on SQLite through insertPairsSQLite.
func (s *Scanner) insertPairs(ctx context.Context, tx *sql.Tx, pairs []foundPair, reasons []scored, rid []int64, now time.Time) error {
	if s.db.Dialect == database.SQLite && !s.db.IsRowByRow() {
		return insertPairsSQLite(ctx, tx, pairs, reasons, rid, now)
	}
	rows := make([][]any, 0, bulkChunk)
	for start := 0; start < len(pairs); start += bulkChunk {
		rows = rows[:0]
		for _, p := range pairs[start:min(start+bulkChunk, len(pairs))] {
			r := &reasons[p.reason]
			rows = append(rows, []any{p.a, p.b, r.score, rid[p.reason], r.fields, now, p.group})
		}
		if err := s.db.InsertRows(ctx, tx, pairInsert, rows); err != nil {
			return fmt.Errorf("write pairs: %w", err)
		}
	}
	return nil
}

const groupInsert = `INSERT INTO duplicate_groups (id, score, size, pair_count, field_bits)`

// insertGroups writes groups (upserting: a regroup's new group may reuse
// the id of one it replaces).
func (s *Scanner) insertGroups(ctx context.Context, q database.Querier, groups []groupRow) error {
	rows := make([][]any, len(groups))
	for i, g := range groups {
		rows[i] = []any{g.id, g.score, g.size, g.pairs, g.bits}
	}
	return s.db.UpsertRows(ctx, q, groupInsert, `ON CONFLICT (id) DO UPDATE SET score = excluded.score, size = excluded.size,
		pair_count = excluded.pair_count, field_bits = excluded.field_bits`, rows)
}

// looseChunk is how many company ids one query of regroup names.
const looseChunk = 5000

// regroup recomputes the groups seeds, and the pairs not grouped yet
// (group 0: those a re-check has just written, or all of them after
// migration 00039), from their pairs: it relabels the pairs whose group
// changed and replaces the groups' rows. A pair not grouped yet may join
// companies of groups not among seeds; those are taken in too. The cost
// is the pairs of the groups read — a few for real duplicates, all of
// them for a base where one group holds most companies.
func (s *Scanner) regroup(ctx context.Context, tx *sql.Tx, seeds []int64) error {
	want := map[int64]bool{0: true}
	for _, g := range seeds {
		want[g] = true
	}
	var pairs []scoredPair
	pending := slices.Collect(maps.Keys(want))
	for len(pending) > 0 {
		read, err := s.groupPairs(ctx, tx, pending)
		if err != nil {
			return err
		}
		pairs = append(pairs, read...)
		var loose []int64
		for _, p := range read {
			if p.group == 0 {
				loose = append(loose, p.a, p.b)
			}
		}
		slices.Sort(loose)
		loose = slices.Compact(loose)
		pending = nil
		for start := 0; start < len(loose); start += looseChunk {
			in := idList(loose[start:min(start+looseChunk, len(loose))])
			others, err := database.Column[int64](ctx, tx, `SELECT DISTINCT group_id FROM duplicate_pairs WHERE a_id IN `+in+` OR b_id IN `+in)
			if err != nil {
				return fmt.Errorf("regroup: %w", err)
			}
			for _, g := range others {
				if !want[g] {
					want[g] = true
					pending = append(pending, g)
				}
			}
		}
	}
	was := make([]int64, len(pairs))
	for i, p := range pairs {
		was[i] = p.group
	}
	groups := labelGroups(pairs)
	moved := map[int64][]pairKey{}
	for i, p := range pairs {
		if p.group != was[i] {
			moved[p.group] = append(moved[p.group], pairKey{p.a, p.b})
		}
	}
	for _, g := range slices.Sorted(maps.Keys(moved)) {
		keys := moved[g]
		for start := 0; start < len(keys); start += looseChunk {
			if err := relabel(ctx, tx, g, keys[start:min(start+looseChunk, len(keys))]); err != nil {
				return err
			}
		}
	}
	drop := `DELETE FROM duplicate_groups WHERE id IN ` + idList(slices.Sorted(maps.Keys(want))) //nolint:gosec // integers written by idList
	if _, err := tx.ExecContext(ctx, drop); err != nil {
		return fmt.Errorf("regroup: %w", err)
	}
	return s.insertGroups(ctx, tx, groups)
}

// groupPairs reads the pairs of groups (their keys, score, fields and group).
func (s *Scanner) groupPairs(ctx context.Context, q database.Querier, groups []int64) ([]scoredPair, error) {
	out, err := readPairs(ctx, q, `SELECT a_id, b_id, score, fields, group_id FROM duplicate_pairs WHERE group_id IN `+idList(groups))
	if err != nil {
		return nil, fmt.Errorf("group pairs: %w", err)
	}
	return out, nil
}

// readPairs runs query, which selects a_id, b_id, score, fields and
// group_id of stored pairs, and reads its rows.
func readPairs(ctx context.Context, q database.Querier, query string, args ...any) ([]scoredPair, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []scoredPair
	err = eachRow(rows, func() error {
		var p scoredPair
		if err := rows.Scan(&p.a, &p.b, &p.score, &p.fields, &p.group); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// relabel moves the pairs keys into group g.
func relabel(ctx context.Context, tx *sql.Tx, g int64, keys []pairKey) error {
	q := `UPDATE duplicate_pairs SET group_id = $1 WHERE (a_id, b_id) IN (VALUES ` + keyValues(keys) + `)` //nolint:gosec // integers
	_, err := tx.ExecContext(ctx, q, g)
	if err != nil {
		return fmt.Errorf("regroup: %w", err)
	}
	return nil
}

// sqlitePairPiece is how many pairs one INSERT of insertPairsSQLite
// writes.
const sqlitePairPiece = 2048

// insertPairsSQLite writes pairs on SQLite with their numbers written
// into the statements — each pair's companies, reasons id and group —
// and the rest bound once per statement: the time, and the score and
// fields of each answer the statement's pairs carry (a few dozen among
// 2,048 pairs), which the pairs name by parameter number. Bound per pair,
// the seven values cost a boxed value, a conversion and a bind each, two
// of them text the driver copies into C memory and the time formatted
// anew: most of the CPU of writing millions of pairs. SQLite reads a few
// digits for much less. The pairs come in the primary key's order, so the
// clustered table grows at its end.
func insertPairsSQLite(ctx context.Context, tx *sql.Tx, pairs []foundPair, reasons []scored, rid []int64, now time.Time) error {
	const head = `INSERT INTO duplicate_pairs (a_id, b_id, score, reasons_id, fields, checked_at, group_id) VALUES `
	q := make([]byte, 0, len(head)+sqlitePairPiece*48)
	slot := make([]int, len(reasons)) // the parameter of an answer's score (its fields': the next), 0: none yet
	var args []any
	for start := 0; start < len(pairs); start += sqlitePairPiece {
		chunk := pairs[start:min(start+sqlitePairPiece, len(pairs))]
		q = append(q[:0], head...)
		args = append(args[:0], now)
		for i, p := range chunk {
			k := slot[p.reason]
			if k == 0 {
				r := &reasons[p.reason]
				args = append(args, r.score, r.fields)
				k = len(args) - 1
				slot[p.reason] = k
			}
			if i > 0 {
				q = append(q, ',')
			}
			q = append(q, '(')
			q = strconv.AppendInt(q, p.a, 10)
			q = append(q, ',')
			q = strconv.AppendInt(q, p.b, 10)
			q = append(q, ",$"...)
			q = strconv.AppendInt(q, int64(k), 10)
			q = append(q, ',')
			q = strconv.AppendInt(q, rid[p.reason], 10)
			q = append(q, ",$"...)
			q = strconv.AppendInt(q, int64(k+1), 10)
			q = append(q, ",$1,"...)
			q = strconv.AppendInt(q, p.group, 10)
			q = append(q, ')')
		}
		if _, err := tx.ExecContext(ctx, string(q), args...); err != nil {
			return fmt.Errorf("write pairs: %w", err)
		}
		for _, p := range chunk {
			slot[p.reason] = 0
		}
	}
	return nil
}
