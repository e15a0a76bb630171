package company

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crmprofi/crm/internal/database"
)

// Draft is the company as a NewCompany: what a loader that amends stored
// companies (the importer) starts from, so that UpdateBatch can tell what
// it changed.
func (c *Company) Draft() NewCompany { return c.draft() }

// LoadBatch reads the live companies of ids with their phones, e-mails
// and spheres, in two queries whatever the number of ids (at most a few
// thousand: one IN list). Missing and deleted companies are left out. It
// reads without a scope: it serves loaders that decided the ids
// themselves, in the caller's transaction.
func (s *Store) LoadBatch(ctx context.Context, q database.Querier, ids []int64) ([]Company, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var w database.Where
	w.Add("c.id IN " + w.In(database.IDs(ids)...))
	w.Add("c.deleted_at IS NULL")
	rows, err := q.QueryContext(ctx, `SELECT `+companyColumns+` FROM companies c`+w.SQL()+` ORDER BY c.id`, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("load companies: %w", err)
	}
	list, version, err := collect(rows, false)
	if err != nil {
		return nil, err
	}
	if err := s.fillNames(ctx, q, list, version); err != nil {
		return nil, err
	}
	if err := fillChildren(ctx, q, s.db.Dialect, list, false); err != nil {
		return nil, err
	}
	return list, nil
}

// Revision is a stored company (as LoadBatch read it) and what it is to
// become: a normalised NewCompany (see NewCompany.Normalize).
type Revision struct {
	Current Company
	Next    NewCompany
}

// UpdateBatch writes the revisions whose Next differs from their Current,
// the way Update writes (fields, derived keys, the child rows of the
// changed fields, version and updated_at), and returns how many it wrote.
// A revision that changes nothing writes nothing. It neither checks
// references and duplicates nor audits: it is the bulk path of the
// importer, which decided those itself. A company changed since it was
// read fails the batch with ErrConflict.
func (s *Store) UpdateBatch(ctx context.Context, tx *sql.Tx, list []Revision) (int, error) {
	written := 0
	for i := range list {
		r := &list[i]
		changed := changedFields(r.Current.draft(), r.Next)
		if len(changed) == 0 {
			continue
		}
		if err := s.writeFields(ctx, tx, r.Current.ID, r.Current.Version, &r.Next, r.Next.norms(), changed, s.now()); err != nil {
			return written, fmt.Errorf("company %d: %w", r.Current.ID, err)
		}
		written++
	}
	return written, nil
}

// ChangedFields names the fields that differ between a and b (name, inn,
// phones, spheres, …): what UpdateBatch would write.
func ChangedFields(a, b NewCompany) []string { return changedFields(a, b) }
