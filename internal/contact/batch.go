package contact

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/contactinfo"
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

// InsertBatch writes many contacts with a few multi-row statements in tx,
// the way a 1,000,000-contact load stays in minutes, not hours.
func (s *Store) InsertBatch(ctx context.Context, tx *sql.Tx, list []NewContact) error {
	per := database.BatchSize(11)
	for start := 0; start < len(list); start += per {
		chunk := list[start:min(start+per, len(list))]
		rows := make([][]any, len(chunk))
		for i, n := range chunk {
			at := n.CreatedAt
			if at.IsZero() {
				at = database.Now()
			}
			at = at.UTC().Truncate(time.Microsecond)
			last, first, middle := strings.TrimSpace(n.LastName), strings.TrimSpace(n.FirstName), strings.TrimSpace(n.MiddleName)
			rows[i] = []any{database.NullInt64(n.CompanyID), last, first, middle, nameNorm(last, first, middle),
				strings.TrimSpace(n.Position), n.Status, n.Note, database.NullInt64(n.CreatedBy), at, at}
		}
		ids, err := s.db.InsertReturningIDs(ctx, tx, `INSERT INTO contacts (company_id, last_name, first_name, middle_name, name_norm, position, status, note,
			created_by, created_at, updated_at)`, rows)
		if err != nil {
			return fmt.Errorf("insert contacts: %w", err)
		}
		var phones, emails, terms [][]any
		for i, n := range chunk {
			id := ids[i]
			// Loaders import what they have; a number without a normal
			// form is kept as typed, as a person's edit would be refused.
			ignored := apperr.Invalid{}
			for pos, p := range contactinfo.NormalizePhones(n.Phones, ignored) {
				phones = append(phones, []any{id, pos, p.Value, p.Kind, p.Comment, p.E164, p.Ext, dedup.Phone{E164: p.E164}.Suffix()})
			}
			for pos, e := range contactinfo.NormalizeEmails(n.Emails, ignored) {
				emails = append(emails, []any{id, pos, e.Value, e.Norm, e.Kind, e.Comment})
			}
			norm := nameNorm(strings.TrimSpace(n.LastName), strings.TrimSpace(n.FirstName), strings.TrimSpace(n.MiddleName))
			for _, t := range batchTerms(n) {
				terms = append(terms, []any{t, id, norm, true})
			}
		}
		if err := s.db.InsertRows(ctx, tx, "INSERT INTO contact_phones (contact_id, position, value, kind, comment, e164, ext, e164_suffix)", phones); err != nil {
			return fmt.Errorf("insert contact phones: %w", err)
		}
		if err := s.db.InsertRows(ctx, tx, "INSERT INTO contact_emails (contact_id, position, value, value_norm, kind, comment)", emails); err != nil {
			return fmt.Errorf("insert contact e-mails: %w", err)
		}
		if err := s.db.InsertRows(ctx, tx, "INSERT INTO contact_terms (term, contact_id, name_norm, live)", terms); err != nil {
			return fmt.Errorf("insert contact terms: %w", err)
		}
	}
	return nil
}

func batchTerms(n NewContact) []string {
	return terms(Input{LastName: n.LastName, FirstName: n.FirstName, MiddleName: n.MiddleName, Position: n.Position})
}
