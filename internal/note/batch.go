package note

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// NewNote is a note as a loader (demo data, imports, benchmarks) writes it
// in bulk: trusted, with its own author and time, no audit entry per row.
type NewNote struct {
	CompanyID int64
	AuthorID  int64
	Type      string // "" is "note"
	Text      string
	IsPinned  bool
	CreatedAt time.Time // zero: now
}

// InsertBatch writes many notes with a few multi-row statements in tx.
func (s *Store) InsertBatch(ctx context.Context, tx *sql.Tx, list []NewNote) error {
	rows := make([][]any, len(list))
	for i, n := range list {
		at := n.CreatedAt
		if at.IsZero() {
			at = database.Now()
		}
		typ := n.Type
		if typ == "" {
			typ = "note"
		}
		if !validType(typ) {
			return fmt.Errorf("insert notes: unknown note type %q", typ)
		}
		rows[i] = []any{n.CompanyID, database.NullInt64(n.AuthorID), typ, n.Text, n.IsPinned, at.UTC().Truncate(time.Microsecond)}
	}
	return s.db.InsertRows(ctx, tx, `INSERT INTO company_notes (company_id, author_id, note_type, text, is_pinned, created_at)`, rows)
}
