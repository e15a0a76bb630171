package amoimport

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
)

// maxContactName is the longest name part a contact keeps (contact.Input).
const maxContactName = 150

// contactDraft is what an entity's rows say of one contact.
type contactDraft struct {
	rows     []appliedRow
	baseID   int64 // the contact it updates; 0: it creates one
	link     int64 // the company it belongs to; 0: none
	next     contact.NewContact
	notes    []string
	amoIDs   []int64
	resolved int64
}

// contactDraft joins the rows of one contact entity, head row first.
func (a *applier) contactDraft(g []appliedRow, links map[int]int64) contactDraft {
	d := contactDraft{rows: g}
	n := &d.next
	var fullName string
	for _, p := range g {
		r := p.rec
		if d.baseID == 0 {
			d.baseID = p.contactID
		}
		if d.link == 0 && p.linkEntity != 0 {
			d.link = links[p.linkEntity]
		}
		applyFill(&n.LastName, r.LastName)
		applyFill(&n.FirstName, r.FirstName)
		applyFill(&n.MiddleName, r.MiddleName)
		applyFill(&n.Position, r.Position)
		applyFill(&fullName, r.Name)
		if n.CreatedBy == 0 {
			n.CreatedBy = p.responsibleID
		}
		n.Phones = addPhones(n.Phones, r.Phones)
		n.Emails = addEmails(n.Emails, r.Emails)
		for _, t := range r.Notes {
			if t = strings.TrimSpace(t); t != "" && !slices.Contains(d.notes, t) {
				d.notes = append(d.notes, t)
			}
		}
		if r.AmoID != 0 && !slices.Contains(d.amoIDs, r.AmoID) {
			d.amoIDs = append(d.amoIDs, r.AmoID)
		}
	}
	if d.link == 0 {
		for _, p := range g {
			if p.companyID != 0 {
				d.link = p.companyID
				break
			}
		}
	}
	if n.LastName == "" && n.FirstName == "" {
		n.LastName = fullName
	}
	n.LastName, n.FirstName, n.MiddleName = cut(n.LastName, maxContactName), cut(n.FirstName, maxContactName), cut(n.MiddleName, maxContactName)
	n.Position = cut(n.Position, 255)
	n.CompanyID = d.link
	if n.CreatedBy == 0 {
		n.CreatedBy = a.actor.UserID
	}
	n.CreatedAt = a.now
	return d
}

// applyContacts writes one chunk of contact entities.
func (a *applier) applyContacts(ctx context.Context, groups [][]appliedRow) error {
	links, err := a.linkedCompanies(ctx, groups)
	if err != nil {
		return err
	}
	drafts := make([]contactDraft, len(groups))
	var baseIDs []int64
	for i, g := range groups {
		drafts[i] = a.contactDraft(g, links)
		if drafts[i].baseID != 0 {
			baseIDs = append(baseIDs, drafts[i].baseID)
		}
	}
	base, err := a.contacts.LoadBatch(ctx, a.tx, baseIDs)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	current := make(map[int64]contact.Contact, len(base))
	for _, c := range base {
		current[c.ID] = c
	}
	var (
		creates   []contact.NewContact
		createdAt []int
		revisions []contact.Revision
	)
	for i := range drafts {
		d := &drafts[i]
		if d.baseID == 0 {
			n := d.next
			if n.LastName == "" && n.FirstName == "" {
				n.LastName = "Без имени"
			}
			n.Note = strings.Join(d.notes, "\n\n")
			creates = append(creates, n)
			createdAt = append(createdAt, i)
			continue
		}
		cur, ok := current[d.baseID]
		if !ok {
			return fmt.Errorf("apply: row %d: contact %d is not in the base (deleted since the plan?)", d.rows[0].number, d.baseID)
		}
		d.resolved = cur.ID
		if next, changed := amendContact(cur, d.next, d.notes); changed {
			revisions = append(revisions, contact.Revision{Current: cur, Next: next})
		}
	}
	ids, err := a.contacts.InsertBatchIDs(ctx, a.tx, creates)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	for k, i := range createdAt {
		drafts[i].resolved = ids[k]
	}
	if err := a.contacts.UpdateBatch(ctx, a.tx, revisions); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	var amo, written [][]any
	for i := range drafts {
		d := &drafts[i]
		for _, id := range d.amoIDs {
			amo = append(amo, []any{id, d.resolved})
		}
		for _, p := range d.rows {
			var companyID, contactID any
			if p.contactID != d.resolved {
				contactID = d.resolved
			}
			if d.link != 0 && p.companyID != d.link {
				companyID = d.link
			}
			if companyID != nil || contactID != nil {
				written = append(written, []any{a.importID, p.number, companyID, contactID})
			}
		}
	}
	if err := a.upsertAmoIDs(ctx, "contact_amo_ids", "contact_id", amo); err != nil {
		return err
	}
	return a.writeRowIDs(ctx, written)
}

// linkedCompanies reads the company each link_entity of groups was
// written to (Apply writes companies first).
//
// The rows' written and planned companies are looked up one row at a
// time (scalar subqueries on the two tables' keys), not joined: for the
// join PostgreSQL took the IN list's length (a page's contacts, 1,300
// numbers) for the rows it would find and hashed every row of the
// import's import_row_ids and import_row_plans for each page — 30 ms a
// page, a second of the server's time in an import of 100,000 rows,
// against 2 ms now. The numbers are sent once each and sorted (many
// contacts name one company).
func (a *applier) linkedCompanies(ctx context.Context, groups [][]appliedRow) (map[int]int64, error) {
	out := map[int]int64{}
	var numbers []int64
	for _, g := range groups {
		for _, p := range g {
			if p.linkEntity != 0 {
				numbers = append(numbers, int64(p.linkEntity))
			}
		}
	}
	if len(numbers) == 0 {
		return out, nil
	}
	// Each company once (many contacts of a chunk name the same one), in
	// one argument (InIDs): a placeholder per number made each chunk's
	// statement a text of its own, compiled afresh — with the driver's
	// look-up of each of up to 2,000 placeholders by name, 0.35 s of an
	// import of 100,000 rows on SQLite.
	slices.Sort(numbers)
	numbers = slices.Compact(numbers)
	var w database.Where
	w.Add("r.import_id = ?", a.importID)
	w.Add("r.number" + a.db.Dialect.InIDs(&w, numbers))
	rows, err := a.db.QueryContext(ctx, `SELECT r.number, COALESCE(
		(SELECT x.company_id FROM import_row_ids x WHERE x.import_id = r.import_id AND x.number = r.number),
		(SELECT d.company_id FROM import_row_plans d WHERE d.import_id = r.import_id AND d.number = r.number),
		r.company_id) FROM import_rows r`+w.SQL(), w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("apply: linked companies: %w", err)
	}
	defer func() { _ = rows.Close() }()
	err = scanAll(rows, func() error {
		var number int
		var id sql.NullInt64
		err := rows.Scan(&number, &id)
		if id.Valid {
			out[number] = id.Int64
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("apply: linked companies: %w", err)
	}
	return out, nil
}

// amendContact is contact cur with what the file adds, by the rule of
// amend: a name part, position or company the file has replaces the
// base's; phones and e-mails are added when missing; a note text not yet
// in the contact's note is appended. changed says whether anything did.
func amendContact(cur contact.Contact, from contact.NewContact, notes []string) (contact.NewContact, bool) {
	n := contact.NewContact{LastName: cur.LastName, FirstName: cur.FirstName, MiddleName: cur.MiddleName, Position: cur.Position,
		Status: cur.Status, Note: cur.Note, Phones: slices.Clone(cur.Phones), Emails: slices.Clone(cur.Emails)}
	if cur.CompanyID != nil {
		n.CompanyID = *cur.CompanyID
	}
	changed := false
	take := func(dst *string, v string) {
		if v != "" && v != *dst {
			*dst, changed = v, true
		}
	}
	take(&n.LastName, from.LastName)
	take(&n.FirstName, from.FirstName)
	take(&n.MiddleName, from.MiddleName)
	take(&n.Position, from.Position)
	if from.CompanyID != 0 && from.CompanyID != n.CompanyID {
		n.CompanyID, changed = from.CompanyID, true
	}
	phones, emails := len(n.Phones), len(n.Emails)
	n.Phones = addPhones(n.Phones, from.Phones)
	n.Emails = addEmails(n.Emails, from.Emails)
	changed = changed || len(n.Phones) != phones || len(n.Emails) != emails
	for _, t := range notes {
		if !strings.Contains(n.Note, t) {
			if n.Note != "" {
				n.Note += "\n\n"
			}
			n.Note += t
			changed = true
		}
	}
	return n, changed
}
