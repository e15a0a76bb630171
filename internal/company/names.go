package company

import (
	"context"
	"database/sql"
	"fmt"

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
