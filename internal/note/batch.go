package note

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
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

// maxParams keeps one statement under SQLite's bound-parameter limit.
const maxParams = 30000

// InsertBatch writes many notes with a few multi-row statements in tx.
func (s *Store) InsertBatch(ctx context.Context, tx *sql.Tx, list []NewNote) error {
	const cols = 6
	positional := s.db.Dialect == database.SQLite
	for start := 0; start < len(list); start += maxParams / cols {
		chunk := list[start:min(start+maxParams/cols, len(list))]
		var b strings.Builder
		b.WriteString(`INSERT INTO company_notes (company_id, author_id, note_type, text, is_pinned, created_at) VALUES `)
		args := make([]any, 0, len(chunk)*cols)
		for i, n := range chunk {
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
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := 1; j <= cols; j++ {
				if j > 1 {
					b.WriteString(", ")
				}
				if positional {
					b.WriteByte('?')
				} else {
					b.WriteString("$" + strconv.Itoa(len(args)+j))
				}
			}
			b.WriteByte(')')
			args = append(args, n.CompanyID, database.NullInt64(n.AuthorID), typ, n.Text, n.IsPinned, at.UTC().Truncate(time.Microsecond))
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert notes: %w", err)
		}
	}
	return nil
}
