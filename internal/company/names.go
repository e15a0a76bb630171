package company

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/duplicate"
)

// writeNames makes the similar-names tables of the duplicate engine hold
// the normalised names norms: company_names each name once, name_trigrams
// its trigrams (duplicate.Trigrams, with their count). Every write of a
// company's name goes through it — InsertBatch (create, the demo loader,
// the importer) and writeFields (edit, merge, its undo, the importer's
// updates) — so the tables stay complete. A name already there is left
// alone, and a name out of use stays (the engine reads only live
// companies): migration 00035.
//
// The names are written once each: the batch's distinct names are
// inserted in a few multi-row statements, and only those that were new
// (RETURNING tells which) get their trigrams, in one bulk write (COPY on
// PostgreSQL). A name another transaction inserted meanwhile conflicts
// and is skipped with its trigrams: that transaction writes them.
func (s *Store) writeNames(ctx context.Context, tx *sql.Tx, norms []string) error {
	seen := make(map[string]struct{}, len(norms))
	var names []string
	for _, n := range norms {
		if _, dup := seen[n]; dup || n == "" {
			continue
		}
		seen[n] = struct{}{}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil
	}
	if s.db.IsRowByRow() {
		return writeNamesOneByOne(ctx, tx, names)
	}
	var grams [][]any
	start := 0
	for _, n := range database.Pieces(s.db.Dialect, len(names), 1) {
		added, err := s.insertNames(ctx, tx, names[start:start+n])
		if err != nil {
			return err
		}
		grams = append(grams, added...)
		start += n
	}
	if q := s.deferred; q != nil && len(q.names) >= q.max {
		names := q.names
		q.names = nil
		return s.writeTrigrams(ctx, tx, names)
	}
	database.SortRows(grams, 3) // the primary key
	return s.db.InsertRows(ctx, tx, `INSERT INTO name_trigrams (trigram, ntri, name_id)`, grams)
}

// insertNames inserts names (distinct) into company_names in one
// statement and returns the name_trigrams rows of those that were new.
func (s *Store) insertNames(ctx context.Context, tx *sql.Tx, names []string) ([][]any, error) {
	rows := make([][]any, len(names))
	for i, name := range names {
		rows[i] = []any{name}
	}
	values, args := s.db.Values(rows)
	res, err := tx.QueryContext(ctx, `INSERT INTO company_names (name_norm) VALUES `+values+ //nolint:gosec // values are placeholders
		` ON CONFLICT (name_norm) DO NOTHING RETURNING id, name_norm`, args...)
	if err != nil {
		return nil, fmt.Errorf("company names: %w", err)
	}
	defer func() { _ = res.Close() }()
	var grams [][]any
	for res.Next() {
		var (
			id   int64
			name string
		)
		if err := res.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("company names: %w", err)
		}
		if s.deferred != nil {
			s.deferred.names = append(s.deferred.names, pendingName{id: id, name: name})
			continue
		}
		g := duplicate.Trigrams(name)
		for _, t := range g {
			grams = append(grams, []any{t, len(g), id})
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("company names: %w", err)
	}
	return grams, nil
}

// writeNamesOneByOne is writeNames the plain way, a statement per name and
// per trigram, as the trigger of migration 00035 kept the tables: the
// reference the bulk path is compared with (database.DB.RowByRow).
func writeNamesOneByOne(ctx context.Context, tx *sql.Tx, names []string) error {
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `INSERT INTO company_names (name_norm) VALUES ($1) ON CONFLICT (name_norm) DO NOTHING`, name); err != nil {
			return fmt.Errorf("company names: %w", err)
		}
		g := duplicate.Trigrams(name)
		for _, t := range g {
			if _, err := tx.ExecContext(ctx, `INSERT INTO name_trigrams (trigram, ntri, name_id)
				SELECT $1, $2, id FROM company_names WHERE name_norm = $3 ON CONFLICT DO NOTHING`, t, len(g), name); err != nil {
				return fmt.Errorf("name trigrams: %w", err)
			}
		}
	}
	return nil
}

// trigramQueue holds the names whose name_trigrams rows a store defers
// (DeferTrigrams), in the order they were inserted into company_names.
type trigramQueue struct {
	names []pendingName
	// max is how many names the queue holds before it writes them as a
	// sorted run of its own (DeferTrigrams' limit).
	max int
}

// DeferredNamesMax bounds a store's deferred names, so that the import's
// memory does not grow with its file: the rows made at flush were 24
// bytes (now 16, gramRow) a trigram for every name, 120 MB for the 320,000 companies of a
// file of 1,000,000 rows (peak RSS 98 MB at 100,000 rows, 174 MB at a
// million). 40,000 names keep a file of 100,000 rows (32,000 companies)
// in one run, and make at most ≈ 16 MB of rows at a time.
const DeferredNamesMax = 40_000

type pendingName struct {
	id   int64
	name string
}

// DeferTrigrams returns a copy of s (bound to the same transaction) whose
// writes leave the name_trigrams rows of the names they add until flush,
// which writes every deferred row in one COPY ordered by the table's
// primary key. It is for PostgreSQL imports: written batch by batch, each
// batch's rows sorted on their own, the trigrams of 100,000 rows of a file
// (500,000 rows from 33 batches) went to pages all over the index in every
// batch, and PostgreSQL descended the B-tree for each; in one sorted run
// the same rows cost it 1.2 s instead of 1.8–2.0 s (measured with INSERT …
// SELECT from the same rows). A queue of limit names (DeferredNamesMax in
// the import) is written then and there, as a sorted run of its own.
// Until they are written the names the store added have no trigrams, so
// nothing may look for similar names in the transaction meanwhile (an
// import's Apply does not: the duplicate engine runs after it, from
// duplicate_dirty). In the row-by-row mode (database.DB.RowByRow) nothing
// is deferred. The queue keeps a name per company (the rows are
// made at flush: 16 bytes each while sorting).
func (s *Store) DeferTrigrams(limit int) (*Store, func(ctx context.Context, tx *sql.Tx) error) {
	c := *s
	c.deferred = &trigramQueue{max: max(limit, 1)}
	flush := func(ctx context.Context, tx *sql.Tx) error {
		q := c.deferred
		names := q.names
		q.names = nil
		return s.writeTrigrams(ctx, tx, names)
	}
	return &c, flush
}

// gramRow is one name_trigrams row in 16 bytes: its trigram packed into
// an integer (three runes of 21 bits, first rune highest) and its ntri
// and name_id in another (ntri in the top 16 bits, name_id in the low
// 48), so that the two integers in turn sort as the primary key (trigram,
// ntri, name_id) does — the trigram's UTF-8 bytes, then ntri, then
// name_id. A run of 40,000 names is about a million rows: with three
// fields (24 bytes) it was 24 MB of live heap in the middle of an import
// of 1,000,000 rows on PostgreSQL, against 19 MB for the one run of
// 100,000 rows at its end, and the Go runtime went past its limit there.
type gramRow struct {
	gram uint64
	key  uint64
}

// gramKeyBits is the width of name_id in gramRow.key.
const gramKeyBits = 48

// newGramRow packs one row; ok is false for a name_id or ntri too wide
// for the key (2^48 names, 65,536 trigrams in one name: never, but not
// to be sorted wrong).
func newGramRow(gram string, ntri int, id int64) (gramRow, bool) {
	if id < 0 || id >= 1<<gramKeyBits || ntri < 0 || ntri >= 1<<(64-gramKeyBits) {
		return gramRow{}, false
	}
	return gramRow{gram: packGram(gram), key: uint64(ntri)<<gramKeyBits | uint64(id)}, true //nolint:gosec // both checked above
}

func (r gramRow) ntri() int { return int(r.key >> gramKeyBits) }           //nolint:gosec // 16 bits
func (r gramRow) id() int64 { return int64(r.key & (1<<gramKeyBits - 1)) } //nolint:gosec // 48 bits

func packGram(g string) uint64 {
	var v uint64
	for _, r := range g {
		v = v<<21 | uint64(r) //nolint:gosec // a rune is at most 21 bits
	}
	return v
}

func unpackGram(v uint64) string {
	r := [3]rune{rune(v >> 42 & 0x1FFFFF), rune(v >> 21 & 0x1FFFFF), rune(v & 0x1FFFFF)} //nolint:gosec // 21 bits each
	return string(r[:])
}

// writeTrigrams writes the name_trigrams rows of names in the primary
// key's order, streamed where database.DB.CopyStream applies.
func (s *Store) writeTrigrams(ctx context.Context, tx *sql.Tx, names []pendingName) error {
	// Sized once, by a bound a name cannot exceed (a word of k runes has
	// k+1 trigrams, and words and the spaces between them add up to the
	// name): grown by appending, the slice was copied and held twice.
	size := 0
	for _, n := range names {
		size += utf8.RuneCountInString(n.name) + 1
	}
	rows := make([]gramRow, 0, size)
	for _, n := range names {
		g := duplicate.Trigrams(n.name)
		for _, t := range g {
			r, ok := newGramRow(t, len(g), n.id)
			if !ok {
				return fmt.Errorf("name trigrams: name %d with %d trigrams is out of the sort key's range", n.id, len(g))
			}
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b gramRow) int {
		if c := cmp.Compare(a.gram, b.gram); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	const head = `INSERT INTO name_trigrams (trigram, ntri, name_id)`
	i := 0
	next := func() ([]any, error) {
		if i == len(rows) {
			return nil, nil
		}
		r := rows[i]
		i++
		return []any{unpackGram(r.gram), r.ntri(), r.id()}, nil
	}
	if _, ok, err := s.db.CopyStream(ctx, tx, head, next); ok {
		if err != nil {
			return fmt.Errorf("name trigrams: %w", err)
		}
		return nil
	}
	for start := 0; start < len(rows); start += 4096 {
		batch := make([][]any, 0, 4096)
		for range min(4096, len(rows)-start) {
			r, _ := next()
			batch = append(batch, r)
		}
		if err := s.db.InsertRows(ctx, tx, head, batch); err != nil {
			return err
		}
	}
	return nil
}
