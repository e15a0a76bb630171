package amoimport

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// matchBase finds, for each entity, the company or contact of the base it
// is: a company by an amoCRM ID an earlier import kept (company_amo_ids),
// else by ИНН, else by name and address (the duplicate engine's stored
// keys, name_norm and address_norm, and the same legal form) when exactly
// one live company with no ИНН or the same one has them; a contact by its
// amoCRM ID only. When an entity's rows point at different companies, the
// strongest match wins and the reason says so.
func (p *planner) matchBase() error {
	set := func(entity int32, id int64, how uint8) {
		if p.base == nil { // the first match: most imports into a new base find none
			p.base, p.baseHow = make([]int64, p.n+1), make([]uint8, p.n+1)
		}
		switch {
		case p.base[entity] == 0:
			p.base[entity], p.baseHow[entity] = id, how
		case p.base[entity] != id && how <= p.baseHow[entity]:
			p.state[entity] |= flagBaseConflict
		case p.base[entity] != id:
			p.state[entity] |= flagBaseConflict
		}
	}
	pair := func(how uint8) func(rows *sql.Rows) error {
		return func(rows *sql.Rows) error {
			var (
				entity int32
				id     int64
			)
			if err := rows.Scan(&entity, &id); err != nil {
				return err
			}
			set(entity, id, how)
			return nil
		}
	}
	if err := p.each(`SELECT r.entity, a.company_id FROM import_rows r
		JOIN company_amo_ids a ON a.amo_id = r.amo_id
		JOIN companies c ON c.id = a.company_id AND c.deleted_at IS NULL
		WHERE r.import_id = $1 AND r.kind = 'company' ORDER BY r.number`, pair(joinAmo)); err != nil {
		return err
	}
	if err := p.each(matchINNQuery, pair(joinINN)); err != nil {
		return err
	}
	if err := p.matchBaseByName(set); err != nil {
		return err
	}
	return p.each(`SELECT r.entity, a.contact_id FROM import_rows r
		JOIN contact_amo_ids a ON a.amo_id = r.amo_id
		JOIN contacts c ON c.id = a.contact_id AND c.deleted_at IS NULL
		WHERE r.import_id = $1 AND r.kind = 'contact' ORDER BY r.number`, pair(joinAmo))
}

// matchINNQuery finds the live companies of the base with a company row's
// ИНН. That c.inn is not empty follows from the join, but neither database
// infers it: said outright, it lets both use the partial index
// companies_inn_idx — without it SQLite scanned every company of the base
// for each row (a 100,000-row file against 500,000 companies would never
// end).
const matchINNQuery = `SELECT r.entity, MIN(c.id) FROM import_rows r
	JOIN companies c ON c.inn = r.inn AND c.inn <> '' AND c.deleted_at IS NULL
	WHERE r.import_id = $1 AND r.kind = 'company' AND r.inn <> ''
	GROUP BY r.number, r.entity ORDER BY r.number`

// joinSameBase makes the entities of the file that found the same
// company (or contact) of the base one entity, numbered by the first: an
// earlier import's amoCRM IDs a merge in the CRM gathered on one company,
// or a record with the company's ID and another with its ИНН. Otherwise
// each would write the same company on its own, the last one winning.
// The entities' rows are rewritten with their new number.
func (p *planner) joinSameBase() error {
	type key struct {
		kind uint8
		id   int64
	}
	if p.base == nil {
		return nil // no entity found in the base
	}
	first := map[key]int32{}  // the base's company or contact → its lowest root
	into := map[int32]int32{} // an absorbed root → the root it joins
	for r := int32(1); r <= p.n; r++ {
		if p.kindOf(r) == kindNone || p.find(r) != r || p.base[r] == 0 {
			continue
		}
		k := key{p.kindOf(r), p.base[r]}
		if f, ok := first[k]; ok {
			into[r] = f
		} else {
			first[k] = r
		}
	}
	if len(into) == 0 {
		return nil
	}
	var moved []int32
	for i := int32(1); i <= p.n; i++ {
		if _, ok := into[p.find(i)]; ok && p.kindOf(i) != kindNone {
			moved = append(moved, i)
		}
	}
	for r, f := range into {
		p.state[f] |= p.state[r] & (flagBaseAmbiguous | flagBaseConflict)
		p.baseHow[f] = min(p.baseHow[f], p.baseHow[r])
		p.union(f, r)
	}
	batch := make([][]any, 0, min(len(moved), updateBatch))
	for _, i := range moved {
		p.setJoin(i, joinBase)
		batch = append(batch, []any{i, p.find(i)})
		if len(batch) == updateBatch {
			if err := p.updateRows("entity = v.column2", []string{"INTEGER", "INTEGER"}, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return p.updateRows("entity = v.column2", []string{"INTEGER", "INTEGER"}, batch)
}

// matchBaseByName matches the entities the stronger keys left unmatched
// by name and address: a row's candidates are the live companies with its
// name_norm and address_norm, the same legal form and no ИНН or the
// entity's; exactly one candidate is a match, more are reported.
func (p *planner) matchBaseByName(set func(entity int32, id int64, how uint8)) error {
	var (
		cur    int32 = -1
		entity int32
		found  []int64
	)
	done := func() {
		switch {
		case cur < 0:
		case len(p.base) > 0 && p.base[entity] != 0 && p.baseHow[entity] < joinName:
		case len(found) == 1:
			set(entity, found[0], joinName)
		case len(found) > 1:
			p.state[entity] |= flagBaseAmbiguous
		}
		found = found[:0]
	}
	err := p.each(`SELECT r.number, r.entity, r.name_key, c.id, c.name, c.inn,
			COALESCE((SELECT MAX(e.inn) FROM import_rows e WHERE e.import_id = r.import_id AND e.kind = 'company' AND e.entity = r.entity), '')
		FROM import_rows r
		JOIN companies c ON c.name_norm = r.name_norm AND c.address_norm = r.address_key AND c.deleted_at IS NULL
		WHERE r.import_id = $1 AND r.kind = 'company' AND r.name_norm <> '' AND r.line > 0
		ORDER BY r.number, c.id`, func(rows *sql.Rows) error {
		var (
			number, e                 int32
			key, name, inn, entityINN string
			id                        int64
		)
		if err := rows.Scan(&number, &e, &key, &id, &name, &inn, &entityINN); err != nil {
			return err
		}
		if number != cur {
			done()
			cur, entity = number, e
		}
		if formOf(key) == dedup.LegalForm(name) && (inn == "" || inn == entityINN) {
			found = append(found, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	done()
	return nil
}

// formOf is the legal form part of a name key.
func formOf(key string) string {
	form, _, _ := strings.Cut(key, "|")
	return form
}

// baseCompaniesByName returns, for each normalised name of norms (with its
// name key's legal form), the one live company of the base with that name
// and form; a name with none or several is left out.
func (p *planner) baseCompaniesByName(keys map[string]string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(keys) == 0 {
		return out, nil
	}
	norms := make([]any, 0, len(keys))
	for norm := range keys {
		norms = append(norms, norm)
	}
	var w database.Where
	w.Add("name_norm IN " + w.In(norms...) + " AND deleted_at IS NULL")
	several := map[string]bool{}
	err := p.scan(`SELECT id, name, name_norm FROM companies`+w.SQL()+` ORDER BY id`, w.Args(), func(rows *sql.Rows) error {
		var (
			id         int64
			name, norm string
		)
		if err := rows.Scan(&id, &name, &norm); err != nil {
			return err
		}
		if dedup.LegalForm(name) != formOf(keys[norm]) {
			return nil
		}
		if _, ok := out[norm]; ok {
			several[norm] = true
		}
		out[norm] = id
		return nil
	})
	if err != nil {
		return nil, err
	}
	for norm := range several {
		delete(out, norm)
	}
	return out, nil
}

// addOrphanCompanies adds a company row for each company name contacts
// give that no company row of the file has (by name key), once per key,
// numbered after the file's last record — unless exactly one company of
// the base has that name, which the contacts then belong to.
func (p *planner) addOrphanCompanies() error {
	type orphan struct {
		number, line int32
		key, norm    string
		company      string // the contact's company as written
		responsible  string // the contact's «Ответственный»
	}
	var batch []orphan
	next := p.n
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keys := make(map[string]string, len(batch))
		for _, o := range batch {
			keys[o.norm] = o.key
		}
		inBase, err := p.baseCompaniesByName(keys)
		if err != nil {
			return err
		}
		var rows [][]any
		for _, o := range batch {
			if _, ok := inBase[o.norm]; ok {
				continue
			}
			next++
			rec := Record{Number: int(next), Kind: KindCompany, Name: contactCompany(o.company), Responsible: o.responsible}
			record, err := encodeRecord(nil, &rec)
			if err != nil {
				return err
			}
			resp := p.match(o.responsible)
			if resp == 0 {
				resp = p.opt.Fallback
			}
			rows = append(rows, []any{p.importID, next, 0, string(KindCompany), o.key, o.norm, string(record), "[]",
				ActionCreate, next, database.NullInt64(resp),
				fmt.Sprintf("Создана по контакту из строки %d", o.line)})
			p.tally.add(ActionCreate, nil)
		}
		batch = batch[:0]
		return p.db.InsertRows(p.ctx, p.tx, `INSERT INTO import_rows (import_id, number, line, kind, name_key, name_norm, record,
			issues, action, entity, responsible_id, reason)`, rows)
	}
	// The names are read whole before any is written — a query's rows
	// must be closed before the next statement runs on the transaction —
	// keeping of each only what the new row needs: memory grows with the
	// number of distinct missing company names, not with the file.
	var all []orphan
	err := p.each(`SELECT number, line, company_key, name_norm, record FROM (
			SELECT p.number, p.line, p.company_key, p.name_norm, p.record,
				ROW_NUMBER() OVER (PARTITION BY p.company_key ORDER BY p.number) AS rn
			FROM import_rows p
			WHERE p.import_id = $1 AND p.kind = 'contact' AND p.company_key <> ''
				AND NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.import_id = p.import_id AND r.kind = 'company' AND r.name_key = p.company_key)
		) o WHERE rn = 1 ORDER BY number`, func(rows *sql.Rows) error {
		var (
			o      orphan
			record string
			rec    Record
		)
		if err := rows.Scan(&o.number, &o.line, &o.key, &o.norm, &record); err != nil {
			return err
		}
		if err := decodeRecord(record, &rec); err != nil {
			return fmt.Errorf("record %d: %w", o.number, err)
		}
		o.company, o.responsible = rec.Company, rec.Responsible
		all = append(all, o)
		return nil
	})
	if err != nil {
		return err
	}
	for start := 0; start < len(all); start += updateBatch {
		batch = append(batch, all[start:min(start+updateBatch, len(all))]...)
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}
