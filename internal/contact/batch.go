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
	_, err := s.InsertBatchIDs(ctx, tx, list)
	return err
}

// InsertBatchIDs is InsertBatch returning the new contacts' ids in the
// order of list, for loaders that record what they created (the importer).
//
// A batch of database.BulkMin contacts or more counts them in
// contact_tallies with one statement, the INSERT trigger switched off for
// it (migration 00023).
func (s *Store) InsertBatchIDs(ctx context.Context, tx *sql.Tx, list []NewContact) ([]int64, error) {
	all := make([]int64, 0, len(list))
	err := s.db.Bulk(ctx, tx, len(list), func(bulk bool) error {
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
			all = append(all, ids...)
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
					terms = append(terms, []any{t, true, norm, id})
				}
			}
			if err := s.db.InsertRows(ctx, tx, "INSERT INTO contact_phones (contact_id, position, value, kind, comment, e164, ext, e164_suffix)", phones); err != nil {
				return fmt.Errorf("insert contact phones: %w", err)
			}
			if err := s.db.InsertRows(ctx, tx, "INSERT INTO contact_emails (contact_id, position, value, value_norm, kind, comment)", emails); err != nil {
				return fmt.Errorf("insert contact e-mails: %w", err)
			}
			// In the search key's order (term, live, name_norm, contact_id):
			// SQLite's table and PostgreSQL's search index.
			database.SortRows(terms, 4)
			if err := s.db.InsertRows(ctx, tx, "INSERT INTO contact_terms (term, live, name_norm, contact_id)", terms); err != nil {
				return fmt.Errorf("insert contact terms: %w", err)
			}
		}
		if bulk {
			if _, err := tx.ExecContext(ctx, `UPDATE contact_tallies SET n = n + $1 WHERE id = 1`, len(all)); err != nil {
				return fmt.Errorf("contact tallies: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

func batchTerms(n NewContact) []string {
	return terms(Input{LastName: n.LastName, FirstName: n.FirstName, MiddleName: n.MiddleName, Position: n.Position})
}

// LoadBatch reads the live contacts of ids with their phones and e-mails,
// without a scope: it serves loaders that decided the ids themselves, in
// the caller's transaction (q). Missing and deleted contacts are left out.
func (s *Store) LoadBatch(ctx context.Context, q database.Querier, ids []int64) ([]Contact, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var w database.Where
	w.Add("ct.id IN " + w.In(database.IDs(ids)...))
	w.Add("ct.deleted_at IS NULL")
	rows, err := q.QueryContext(ctx, selectContact+w.SQL()+" ORDER BY ct.id", w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("scan contact: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	if err := s.loadChildren(ctx, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Revision is a stored contact (as LoadBatch read it) and what it is to
// become.
type Revision struct {
	Current Contact
	Next    NewContact
}

// UpdateBatch writes each revision's Next over its contact (fields, name
// key, phones, e-mails and word index; version and updated_at go up), as
// Update does but without scope, checks or audit: the importer's bulk
// path, which writes only revisions that change something. A contact
// changed since it was read fails the batch with ErrConflict.
func (s *Store) UpdateBatch(ctx context.Context, tx *sql.Tx, list []Revision) error {
	for _, r := range list {
		n := r.Next
		ignored := apperr.Invalid{}
		in := Input{LastName: strings.TrimSpace(n.LastName), FirstName: strings.TrimSpace(n.FirstName),
			MiddleName: strings.TrimSpace(n.MiddleName), Position: strings.TrimSpace(n.Position),
			Phones: contactinfo.NormalizePhones(n.Phones, ignored), Emails: contactinfo.NormalizeEmails(n.Emails, ignored)}
		res, err := tx.ExecContext(ctx, `UPDATE contacts SET company_id = $1, last_name = $2, first_name = $3, middle_name = $4,
			name_norm = $5, position = $6, status = $7, note = $8, updated_at = $9, version = version + 1
			WHERE id = $10 AND version = $11 AND deleted_at IS NULL`,
			database.NullInt64(n.CompanyID), in.LastName, in.FirstName, in.MiddleName, nameNorm(in.LastName, in.FirstName, in.MiddleName),
			in.Position, n.Status, n.Note, database.Now(), r.Current.ID, r.Current.Version)
		if err != nil {
			return fmt.Errorf("update contact %d: %w", r.Current.ID, err)
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return fmt.Errorf("update contact %d: %w", r.Current.ID, apperr.ErrConflict)
		}
		if err := writeChildren(ctx, tx, r.Current.ID, in); err != nil {
			return err
		}
	}
	return nil
}
