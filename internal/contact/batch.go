package contact

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// NewContact is a contact as a loader (demo data, imports, benchmarks)
// writes it in bulk: trusted, already attached to a company, no audit
// entry per row. InsertBatch normalises phones, e-mails and the name index
// exactly as Create does.
type NewContact struct {
	CompanyID                                 int64 // 0: no company
	LastName, FirstName, MiddleName, Position string
	Status, Note                              string
	Phones                                    []Phone
	Emails                                    []Email
	CreatedBy                                 int64
	CreatedAt                                 time.Time // zero: now
}

// maxParams keeps one statement under SQLite's bound-parameter limit
// (32766); PostgreSQL allows 65535.
const maxParams = 30000

// InsertBatch writes many contacts with a few multi-row statements in tx,
// the way a 1,000,000-contact load stays in minutes, not hours.
func (s *Store) InsertBatch(ctx context.Context, tx *sql.Tx, list []NewContact) error {
	const cols = 11
	positional := s.db.Dialect == database.SQLite
	for start := 0; start < len(list); start += maxParams / cols {
		chunk := list[start:min(start+maxParams/cols, len(list))]
		var b strings.Builder
		b.WriteString(`INSERT INTO contacts (company_id, last_name, first_name, middle_name, name_norm, position, status, note,
			created_by, created_at, updated_at) VALUES `)
		args := make([]any, 0, len(chunk)*cols)
		for i, n := range chunk {
			at := n.CreatedAt
			if at.IsZero() {
				at = database.Now()
			}
			at = at.UTC().Truncate(time.Microsecond)
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(placeholders(positional, len(args), cols))
			last, first, middle := strings.TrimSpace(n.LastName), strings.TrimSpace(n.FirstName), strings.TrimSpace(n.MiddleName)
			args = append(args, database.NullInt64(n.CompanyID), last, first, middle, nameNorm(last, first, middle),
				strings.TrimSpace(n.Position), n.Status, n.Note, database.NullInt64(n.CreatedBy), at, at)
		}
		b.WriteString(" RETURNING id")
		ids, err := returnedIDs(ctx, tx, b.String(), args)
		if err != nil {
			return fmt.Errorf("insert contacts: %w", err)
		}
		if len(ids) != len(chunk) {
			return fmt.Errorf("insert contacts: %d ids for %d rows", len(ids), len(chunk))
		}
		// Identity values follow VALUES order in both databases; RETURNING
		// order is not promised, so sorting restores the pairing.
		slices.Sort(ids)
		var phones, emails, terms [][]any
		for i, n := range chunk {
			id := ids[i]
			pos := 0
			for _, p := range n.Phones {
				p.Value = strings.TrimSpace(p.Value)
				if p.Value == "" {
					continue
				}
				if p.Kind == "" {
					p.Kind = "work"
				}
				norm, _ := dedup.NormalizePhone(p.Value)
				phones = append(phones, []any{id, pos, p.Value, p.Kind, p.Comment, norm.E164, norm.Ext})
				pos++
			}
			pos = 0
			for _, e := range n.Emails {
				e.Value = strings.TrimSpace(e.Value)
				if e.Value == "" {
					continue
				}
				if e.Kind == "" {
					e.Kind = "work"
				}
				norm, _ := dedup.NormalizeEmail(e.Value)
				emails = append(emails, []any{id, pos, e.Value, norm, e.Kind, e.Comment})
				pos++
			}
			for _, t := range batchTerms(n) {
				terms = append(terms, []any{t, id})
			}
		}
		if err := insertRows(ctx, tx, positional, "INSERT INTO contact_phones (contact_id, position, value, kind, comment, e164, ext) VALUES ", phones); err != nil {
			return fmt.Errorf("insert contact phones: %w", err)
		}
		if err := insertRows(ctx, tx, positional, "INSERT INTO contact_emails (contact_id, position, value, value_norm, kind, comment) VALUES ", emails); err != nil {
			return fmt.Errorf("insert contact e-mails: %w", err)
		}
		if err := insertRows(ctx, tx, positional, "INSERT INTO contact_terms (term, contact_id) VALUES ", terms); err != nil {
			return fmt.Errorf("insert contact terms: %w", err)
		}
	}
	return nil
}

func batchTerms(n NewContact) []string {
	return terms(Input{LastName: n.LastName, FirstName: n.FirstName, MiddleName: n.MiddleName, Position: n.Position})
}

func returnedIDs(ctx context.Context, tx *sql.Tx, q string, args []any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// insertRows writes rows (all of one width) with as few statements as the
// parameter limit allows.
func insertRows(ctx context.Context, tx *sql.Tx, positional bool, prefix string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	per := maxParams / width
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		var b strings.Builder
		b.WriteString(prefix)
		args := make([]any, 0, len(chunk)*width)
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(placeholders(positional, len(args), width))
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns "($k+1, …, $k+n)", or "(?, …, ?)" for SQLite, whose
// driver looks "$N" names up linearly (quadratic in a long statement).
func placeholders(positional bool, k, n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		if positional {
			b.WriteByte('?')
		} else {
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(k + i))
		}
	}
	b.WriteByte(')')
	return b.String()
}
