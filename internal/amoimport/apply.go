package amoimport

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/note"
	"github.com/crmprofi/crm/internal/progress"
)

// applyChunkRows is how many appliedRow rows Apply reads and writes at a
// time: enough for multi-row statements to pay, few enough that memory
// stays flat whatever the size of the file.
const applyChunkRows = 2000

// Apply writes the plan of import importID into the base, in the caller's
// transaction tx (db is the database tx belongs to): the import is all or
// nothing because the caller commits or rolls back once.
//
// It reads the appliedRow import_rows (migration 00021) whose action is
// create, update or merge, entity by entity (the rows sharing an entity
// number), companies first:
//
//   - one company is built from an entity's rows — the row numbered
//     entity first, then the others in file order: the first non-empty
//     value of each field; phones, e-mails, spheres and notes are the union
//     without repeats; the responsible is the first row's that has one, or
//     the actor;
//   - with a company_id on any of its rows the entity updates that
//     company (see CompanyChanges for exactly what changes), otherwise it
//     creates one;
//   - every amoCRM ID of the entity is recorded in company_amo_ids; «Теги»
//     and «Сфера деятельности» missing from the spheres dictionary are
//     added to it; «Примечание N» become company notes (author: the row's
//     responsible or the actor; written at the record's creation date when
//     it has one), a text the company already has being left out;
//   - contacts likewise (contact_amo_ids; the company is the one of the
//     row's link_entity, else its company_id), their notes joined into the
//     contact's note; a created contact's created_by is its row's
//     responsible (so that one without a company stays visible to them),
//     else the actor.
//
// Afterwards every applied row's company (and, for contacts, contact) is
// recorded in import_row_ids, so the report links to them. actor is who
// the import runs as: it is created_by of what the import creates and the
// fallback author and responsible. bar (nil: none) counts applied rows.
func Apply(ctx context.Context, tx *sql.Tx, db *database.DB, importID int64, actor access.Scope, bar progress.Reporter) error {
	if bar == nil {
		bar = progress.Discard("")
	}
	bound := db.WithTx(tx)
	a := &applier{
		tx: tx, db: bound, importID: importID, actor: actor,
		companies: company.NewStore(db).WithTx(tx), contacts: contact.NewStore(db).WithTx(tx), notes: note.NewStore(db).WithTx(tx),
		spheres: map[string]int64{}, now: database.Now(),
	}
	flush := func(context.Context, *sql.Tx) error { return nil }
	if db.Dialect == database.Postgres {
		a.companies, flush = a.companies.DeferTrigrams(deferredNames)
	}
	err := a.run(ctx, bar)
	if err == nil {
		start := time.Now()
		err = flush(ctx, tx)
		traceStep("apply trigrams", start)
	}
	bar.Finish(err)
	return err
}

// deferredNames is how many companies' names Apply leaves without their
// trigrams before writing them as a sorted run (company.DeferredNamesMax;
// a test lowers it to see that the queue is all Apply keeps per row).
var deferredNames = company.DeferredNamesMax

type applier struct {
	tx        *sql.Tx
	db        *database.DB
	importID  int64
	actor     access.Scope
	companies *company.Store
	contacts  *contact.Store
	notes     *note.Store
	// branches is each user's branch: a created company's branch is its
	// responsible's, as Create makes it.
	branches map[int64]int64
	spheres  map[string]int64
	now      time.Time
}

func (a *applier) run(ctx context.Context, bar progress.Reporter) error {
	var total int64
	if err := a.db.QueryRowContext(ctx, `SELECT COUNT(*)`+rowsPlanned+` WHERE r.import_id = $1 AND r.entity IS NOT NULL
		AND `+rowAction+` IN ('create', 'update', 'merge')`, a.importID).Scan(&total); err != nil {
		return fmt.Errorf("apply: count rows: %w", err)
	}
	bar.Start(total)
	rows, err := a.db.QueryContext(ctx, `SELECT id, COALESCE(branch_id, 0) FROM users`)
	if err != nil {
		return fmt.Errorf("apply: users: %w", err)
	}
	defer func() { _ = rows.Close() }()
	a.branches = map[int64]int64{}
	err = scanAll(rows, func() error {
		var id, branch int64
		err := rows.Scan(&id, &branch)
		a.branches[id] = branch
		return err
	})
	if err != nil {
		return fmt.Errorf("apply: users: %w", err)
	}
	start := time.Now()
	if err := a.eachChunk(ctx, string(KindCompany), func(groups [][]appliedRow) error {
		return a.applyCompanies(ctx, groups)
	}, bar); err != nil {
		return err
	}
	traceStep("apply companies", start)
	start = time.Now()
	defer traceStep("apply contacts", start)
	return a.eachChunk(ctx, string(KindContact), func(groups [][]appliedRow) error {
		return a.applyContacts(ctx, groups)
	}, bar)
}

// appliedRow is one appliedRow row of import_rows.
type appliedRow struct {
	number        int
	action        string
	entity        int
	companyID     int64
	contactID     int64
	linkEntity    int
	responsibleID int64
	rec           Record
}

// eachChunk reads the applied rows of kind in pages of whole entities
// (ordered by entity, then number) and passes each page, grouped by
// entity with the entity's own row first, to fn.
func (a *applier) eachChunk(ctx context.Context, kind string, fn func([][]appliedRow) error, bar progress.Reporter) error {
	after, limit := -1<<31, applyChunkRows
	for {
		list, err := a.readRows(ctx, kind, after, limit)
		if err != nil {
			return err
		}
		full := len(list) == limit
		groups := groupRows(list)
		if full {
			if len(groups) == 1 {
				limit *= 2 // one entity larger than a page: read it whole
				continue
			}
			groups = groups[:len(groups)-1] // the last entity may go on in the next page
		}
		if len(groups) == 0 {
			return nil
		}
		if err := fn(groups); err != nil {
			return err
		}
		n := 0
		for _, g := range groups {
			n += len(g)
		}
		bar.Add(int64(n))
		after = groups[len(groups)-1][0].entity
		if !full {
			return nil
		}
	}
}

// readRows reads a page of the rows of kind to apply: those whose action
// is create, update or merge, said as «neither skip nor error nor
// unplanned» (the actions are these five). PostgreSQL cannot estimate
// how many rows an expression's IN list keeps and guessed a few percent:
// expecting to need every row of the kind for a page, it hashed all the
// import's plans and sorted all the rows left, for every page (140 ms a
// page of 2,000 contacts). For NOT IN it guesses almost all, and so walks
// import_rows_entity_idx in order with look-ups of the page's plans and
// ids, stopping at the LIMIT (28 ms).
func (a *applier) readRows(ctx context.Context, kind string, after, limit int) ([]appliedRow, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT r.number, `+rowAction+`, r.entity, COALESCE(x.company_id, d.company_id, r.company_id, 0),
		COALESCE(x.contact_id, d.contact_id, r.contact_id, 0), COALESCE(d.link_entity, r.link_entity, 0),
		COALESCE(d.responsible_id, r.responsible_id, 0), r.record`+rowsFrom+`
		WHERE r.import_id = $1 AND r.kind = $2 AND r.entity > $3 AND `+rowAction+` NOT IN ('skip', 'error', '')
		ORDER BY r.entity, r.number LIMIT $4`, a.importID, kind, after, limit)
	if err != nil {
		return nil, fmt.Errorf("apply: read rows: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var list []appliedRow
	err = scanAll(rows, func() error {
		var p appliedRow
		var record string
		if err := rows.Scan(&p.number, &p.action, &p.entity, &p.companyID, &p.contactID, &p.linkEntity, &p.responsibleID, &record); err != nil {
			return err
		}
		if err := decodeRecord(record, &p.rec); err != nil {
			return fmt.Errorf("row %d: record: %w", p.number, err)
		}
		list = append(list, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply: read rows: %w", err)
	}
	return list, nil
}

// groupRows splits rows ordered by entity into entities, each with the
// row numbered entity (when present) first and the others in file order.
func groupRows(list []appliedRow) [][]appliedRow {
	var groups [][]appliedRow
	for start := 0; start < len(list); {
		end := start + 1
		for end < len(list) && list[end].entity == list[start].entity {
			end++
		}
		g := list[start:end:end]
		if i := slices.IndexFunc(g, func(p appliedRow) bool { return p.number == p.entity }); i > 0 {
			head := g[i]
			copy(g[1:i+1], g[:i])
			g[0] = head
		}
		groups = append(groups, g)
		start = end
	}
	return groups
}

// draft is what an entity's rows say of one company.
type draft struct {
	rows     []appliedRow
	baseID   int64 // the company it updates; 0: it creates one
	next     company.NewCompany
	spheres  []string
	notes    []note.NewNote
	amoIDs   []int64
	resolved int64 // the company written
}

// companyDraft joins the rows of one entity into one company, head row
// first: the first non-empty value of each field, the union of the rest.
func (a *applier) companyDraft(g []appliedRow) draft {
	d := draft{rows: g}
	n := &d.next
	seenNote := map[string]bool{}
	for _, p := range g {
		r := p.rec
		if d.baseID == 0 {
			d.baseID = p.companyID
		}
		applyFill(&n.Name, r.Name)
		applyFill(&n.INN, r.INN)
		applyFill(&n.KPP, r.KPP)
		applyFill(&n.OGRN, r.OGRN)
		applyFill(&n.Address, r.Address)
		applyFill(&n.Website, r.Website)
		if n.ResponsibleID == 0 {
			n.ResponsibleID = p.responsibleID
		}
		n.Phones = addPhones(n.Phones, r.Phones)
		n.Emails = addEmails(n.Emails, r.Emails)
		for _, s := range r.Spheres {
			if s = cut(strings.TrimSpace(s), maxSphereName); s != "" && !slices.Contains(d.spheres, s) {
				d.spheres = append(d.spheres, s)
			}
		}
		author := p.responsibleID
		if author == 0 {
			author = a.actor.UserID
		}
		at := a.now
		if !r.CreatedAt.IsZero() {
			at = r.CreatedAt
		}
		for _, t := range r.Notes {
			if t = strings.TrimSpace(t); t != "" && !seenNote[t] {
				seenNote[t] = true
				d.notes = append(d.notes, note.NewNote{AuthorID: author, Text: t, CreatedAt: at})
			}
		}
		if r.AmoID != 0 && !slices.Contains(d.amoIDs, r.AmoID) {
			d.amoIDs = append(d.amoIDs, r.AmoID)
		}
	}
	if n.ResponsibleID == 0 {
		n.ResponsibleID = a.actor.UserID
	}
	n.BranchID = a.branches[n.ResponsibleID]
	n.CreatedBy = a.actor.UserID
	n.CreatedAt = a.now
	tidy(n)
	return d
}

// applyFill sets *dst to v unless *dst already has a value or v is empty.
func applyFill(dst *string, v string) {
	if *dst == "" {
		*dst = strings.TrimSpace(v)
	}
}

// applyPhoneKey is what makes two phones the same number: the normal form
// with its extension, or the digits as typed when there is none.
func applyPhoneKey(p contactinfo.Phone) string {
	if p.E164 == "" {
		if norm, ok := dedup.NormalizePhone(p.Value); ok {
			return norm.E164 + ";" + norm.Ext
		}
		return "raw:" + dedup.CleanDigits(p.Value)
	}
	return p.E164 + ";" + p.Ext
}

// addPhones appends the phones of more not yet in list, with a kind the
// forms know (a column's odd kind becomes «Другой»).
func addPhones(list, more []contactinfo.Phone) []contactinfo.Phone {
	for _, p := range more {
		if strings.TrimSpace(p.Value) == "" || slices.ContainsFunc(list, func(q contactinfo.Phone) bool { return applyPhoneKey(q) == applyPhoneKey(p) }) {
			continue
		}
		if p.Kind != "" && !knownKind(contactinfo.PhoneKinds, p.Kind) {
			p.Kind = "other"
		}
		list = append(list, p)
	}
	return list
}

func addEmails(list, more []contactinfo.Email) []contactinfo.Email {
	for _, e := range more {
		if strings.TrimSpace(e.Value) == "" || slices.ContainsFunc(list, func(q contactinfo.Email) bool { return EmailKey(q) == EmailKey(e) }) {
			continue
		}
		if e.Kind != "" && !knownKind(contactinfo.EmailKinds, e.Kind) {
			e.Kind = "other"
		}
		list = append(list, e)
	}
	return list
}

func knownKind(kinds []contactinfo.Kind, v string) bool {
	return slices.ContainsFunc(kinds, func(k contactinfo.Kind) bool { return k.Value == v })
}

// Limits of company fields (company.NewCompany.Normalize).
const (
	// maxCompanyName is the reader's (cells.go), the same 255.
	maxCompanyAddress = 1000
)

// maxSphereName is the longest name the spheres dictionary takes.
const maxSphereName = 200

// tidy normalises n and makes it writable whatever the file held: a
// value the company rules refuse is cut to length (name, address) or left
// out (ИНН, КПП, ОГРН, website); the reader has already reported it.
func tidy(n *company.NewCompany) {
	inv := n.Normalize()
	if n.Name == "" {
		n.Name = "Без названия"
	}
	n.Name = cut(n.Name, maxCompanyName)
	n.Address = cut(n.Address, maxCompanyAddress)
	for field, v := range map[string]*string{"inn": &n.INN, "kpp": &n.KPP, "ogrn": &n.OGRN, "website": &n.Website} {
		if inv[field] != "" {
			*v = ""
		}
	}
	if n.KPP != "" && len(n.INN) != 10 {
		n.KPP = ""
	}
	_ = n.Normalize()
}

func cut(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:limit]))
}

// applyCompanies writes one chunk of company entities.
func (a *applier) applyCompanies(ctx context.Context, groups [][]appliedRow) error {
	drafts := make([]draft, len(groups))
	var names []string
	var baseIDs []int64
	for i, g := range groups {
		drafts[i] = a.companyDraft(g)
		names = append(names, drafts[i].spheres...)
		if drafts[i].baseID != 0 {
			baseIDs = append(baseIDs, drafts[i].baseID)
		}
	}
	sphereIDs, err := a.sphereIDs(ctx, names)
	if err != nil {
		return err
	}
	base, err := a.companies.LoadBatch(ctx, a.tx, baseIDs)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	current := make(map[int64]company.Company, len(base))
	for _, c := range base {
		current[c.ID] = c
	}
	existing, err := a.noteTexts(ctx, baseIDs)
	if err != nil {
		return err
	}
	var (
		creates   []company.NewCompany
		createdAt []int
		revisions []company.Revision
		notes     []note.NewNote
		amo       [][]any
	)
	for i := range drafts {
		d := &drafts[i]
		for _, s := range d.spheres {
			d.next.Spheres = append(d.next.Spheres, sphereIDs[s])
		}
		if d.baseID == 0 {
			creates = append(creates, d.next)
			createdAt = append(createdAt, i)
			continue
		}
		cur, ok := current[d.baseID]
		if !ok {
			return fmt.Errorf("apply: row %d: company %d is not in the base (deleted since the plan?)", d.rows[0].number, d.baseID)
		}
		d.resolved = cur.ID
		revisions = append(revisions, company.Revision{Current: cur, Next: amend(cur, d.next)})
	}
	ids, err := a.companies.InsertBatch(ctx, a.tx, creates)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	for k, i := range createdAt {
		drafts[i].resolved = ids[k]
	}
	if _, err := a.companies.UpdateBatch(ctx, a.tx, revisions); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	var written [][]any
	for i := range drafts {
		d := &drafts[i]
		have := existing[d.resolved]
		for _, n := range d.notes {
			if have[n.Text] {
				continue
			}
			n.CompanyID = d.resolved
			notes = append(notes, n)
		}
		for _, id := range d.amoIDs {
			amo = append(amo, []any{id, d.resolved})
		}
		for _, p := range d.rows {
			if p.companyID != d.resolved {
				written = append(written, []any{a.importID, p.number, d.resolved, nil})
			}
		}
	}
	if err := a.notes.InsertBatch(ctx, a.tx, notes); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if err := a.upsertAmoIDs(ctx, "company_amo_ids", "company_id", amo); err != nil {
		return err
	}
	return a.writeRowIDs(ctx, written)
}

// amend is company cur with what the file adds: a field amoCRM has is
// taken when the base lacks it or has it differently (an empty cell never
// erases); phones, e-mails and spheres are added when missing; the
// responsible is set only when the company has none — who works a client
// in CRM ПРОФИ is not undone by a re-import.
func amend(cur company.Company, from company.NewCompany) company.NewCompany {
	n := cur.Draft()
	take := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	take(&n.Name, from.Name)
	take(&n.INN, from.INN)
	take(&n.KPP, from.KPP)
	take(&n.OGRN, from.OGRN)
	take(&n.Address, from.Address)
	take(&n.Website, from.Website)
	if n.ResponsibleID == 0 && from.ResponsibleID != 0 {
		n.ResponsibleID, n.BranchID = from.ResponsibleID, from.BranchID
	}
	n.Phones = addPhones(n.Phones, from.Phones)
	n.Emails = addEmails(n.Emails, from.Emails)
	for _, s := range from.Spheres {
		if !slices.Contains(n.Spheres, s) {
			n.Spheres = append(n.Spheres, s)
		}
	}
	tidy(&n)
	return n
}

// CompanyChanges names what Apply would change on company cur (read with
// its children, as company.Store.LoadBatch reads it) for the entity whose
// records are recs (the entity's own record first), given the texts of
// the company's notes and the amoCRM IDs already recorded for it. The
// rule, which the plan's «Без изменений» follows: nothing changes when
// every non-empty name, ИНН, КПП, ОГРН, address and website of the joined
// records (first non-empty value, cleaned as the company rules clean it)
// equals the company's, every phone (by its normal form), e-mail (by its
// normal form), sphere (by name) and note (by text) is already there,
// every amoCRM ID is already the company's, and the company has a
// responsible or the records give none. An empty result means «Без
// изменений».
func CompanyChanges(cur company.Company, notes []string, amoIDs []int64, recs []Record) []string {
	var a applier
	g := make([]appliedRow, len(recs))
	for i, r := range recs {
		g[i] = appliedRow{rec: r, companyID: cur.ID}
	}
	d := a.companyDraft(g)
	d.next.ResponsibleID = 0 // the responsible is compared below, by presence
	next := amend(cur, d.next)
	changed := company.ChangedFields(cur.Draft(), next)
	changed = slices.DeleteFunc(changed, func(f string) bool { return f == "responsible" || f == "branch" })
	for _, s := range d.spheres {
		if !slices.Contains(cur.SphereNames, s) {
			changed = append(changed, "spheres")
			break
		}
	}
	for _, n := range d.notes {
		if !slices.Contains(notes, n.Text) {
			changed = append(changed, "notes")
			break
		}
	}
	for _, id := range d.amoIDs {
		if !slices.Contains(amoIDs, id) {
			changed = append(changed, "amo_ids")
			break
		}
	}
	return changed
}

// sphereIDs returns the ids of the named spheres, adding the missing ones
// to the dictionary.
func (a *applier) sphereIDs(ctx context.Context, names []string) (map[string]int64, error) {
	var missing []any
	for _, n := range names {
		if _, ok := a.spheres[n]; !ok && !slices.Contains(missing, any(n)) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		if err := a.readSpheres(ctx, missing); err != nil {
			return nil, err
		}
		var add [][]any
		for _, n := range missing {
			if _, ok := a.spheres[n.(string)]; !ok {
				add = append(add, []any{n})
			}
		}
		if len(add) > 0 {
			values, args := a.db.Values(add)
			if _, err := a.db.ExecContext(ctx, `INSERT INTO spheres (name) VALUES `+values+` ON CONFLICT (name) DO NOTHING`, args...); err != nil {
				return nil, fmt.Errorf("apply: add spheres: %w", err)
			}
			if err := a.readSpheres(ctx, missing); err != nil {
				return nil, err
			}
		}
	}
	return a.spheres, nil
}

func (a *applier) readSpheres(ctx context.Context, names []any) error {
	var w database.Where
	w.Add("name IN " + w.In(names...))
	rows, err := a.db.QueryContext(ctx, `SELECT id, name FROM spheres`+w.SQL(), w.Args()...)
	if err != nil {
		return fmt.Errorf("apply: spheres: %w", err)
	}
	defer func() { _ = rows.Close() }()
	return scanAll(rows, func() error {
		var id int64
		var name string
		err := rows.Scan(&id, &name)
		a.spheres[name] = id
		return err
	})
}

// noteTexts returns the texts of the notes of the companies ids, by company.
func (a *applier) noteTexts(ctx context.Context, ids []int64) (map[int64]map[string]bool, error) {
	out := map[int64]map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var w database.Where
	w.Add("company_id IN " + w.In(database.IDs(ids)...))
	rows, err := a.db.QueryContext(ctx, `SELECT company_id, text FROM company_notes`+w.SQL(), w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("apply: notes: %w", err)
	}
	defer func() { _ = rows.Close() }()
	err = scanAll(rows, func() error {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			return err
		}
		if out[id] == nil {
			out[id] = map[string]bool{}
		}
		out[id][strings.TrimSpace(text)] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply: notes: %w", err)
	}
	return out, nil
}

// upsertAmoIDs records rows of (amoCRM id, owner id) in table; an id
// recorded for another owner moves to this one, and one already right is
// not written again.
func (a *applier) upsertAmoIDs(ctx context.Context, table, column string, rows [][]any) error {
	seen := map[any]bool{}
	rows = slices.DeleteFunc(rows, func(r []any) bool {
		dup := seen[r[0]]
		seen[r[0]] = true
		return dup
	})
	tail := `ON CONFLICT (amo_id) DO UPDATE SET ` + column + ` = excluded.` + column + ` WHERE ` + table + `.` + column + ` <> excluded.` + column
	if err := a.db.UpsertRows(ctx, a.tx, `INSERT INTO `+table+` (amo_id, `+column+`)`, tail, rows); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

// writeRowIDs records, for the report, the company and contact each of
// the import's rows was written to: rows of (import id, row number,
// company id or nil, contact id or nil) into import_row_ids (migration
// 00045), in one bulk write; a row appears once (its company or its
// contact entity writes it).
func (a *applier) writeRowIDs(ctx context.Context, rows [][]any) error {
	if err := a.db.InsertRows(ctx, a.tx, `INSERT INTO import_row_ids (import_id, number, company_id, contact_id)`, rows); err != nil {
		return fmt.Errorf("apply: report ids: %w", err)
	}
	return nil
}

func scanAll(rows *sql.Rows, fn func() error) error {
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}
