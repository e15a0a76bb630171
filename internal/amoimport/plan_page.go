package amoimport

import (
	"database/sql"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
)

// pageContext is what decide needs from outside a page's rows: the base
// companies and contacts its entities are, and the companies its contacts
// name.
type pageContext struct {
	companies  map[int64]*baseCompany // the base companies, read by company.Store.LoadBatch
	contacts   map[int64]*baseContact
	links      map[int32][]linkCand // contact row → the file's companies with its company's name key
	baseByName map[string]int64     // name_norm → the one base company with that name and form
}

// linkCand is a company of the file a contact's company name matches: its
// entity and first line (0 for a company the plan creates).
type linkCand struct {
	entity, line int32
}

// baseCompany is a company of the base as Apply would amend it: the
// company with its children, its notes' texts and its amoCRM IDs.
type baseCompany struct {
	company.Company
	notes  []string
	amoIDs []int64
}

// baseContact is a contact of the base as the plan compares it.
type baseContact struct {
	first, last, middle, position, note string
	company                             int64
	phones, emails, amoIDs              map[string]bool
}

// loadPage reads what the page's entities need, a few queries a page.
func (p *planner) loadPage(page []stagedRow) (*pageContext, error) {
	pc := &pageContext{companies: map[int64]*baseCompany{}, contacts: map[int64]*baseContact{},
		links: map[int32][]linkCand{}, baseByName: map[string]int64{}}
	var companyIDs, contactIDs, companyKeys []any
	seenKey := map[string]bool{}
	for _, r := range page {
		id, _ := p.baseOf(r.entity)
		switch r.kind {
		case KindCompany:
			if id != 0 && pc.companies[id] == nil {
				pc.companies[id] = &baseCompany{}
				companyIDs = append(companyIDs, id)
			}
		case KindContact:
			if id != 0 && pc.contacts[id] == nil {
				pc.contacts[id] = &baseContact{}
				contactIDs = append(contactIDs, id)
			}
			if r.companyKey != "" && !seenKey[r.companyKey] {
				seenKey[r.companyKey] = true
				companyKeys = append(companyKeys, r.companyKey)
			}
		}
	}
	if err := p.loadCompanies(pc, companyIDs); err != nil {
		return nil, err
	}
	if err := p.loadContacts(pc, contactIDs); err != nil {
		return nil, err
	}
	// The companies of the file with the page's contacts' company keys,
	// through the (import_id, name_key) index.
	byKey := map[string][]linkCand{}
	if len(companyKeys) > 0 {
		var w database.Where
		w.Add("import_id = ?", p.importID)
		w.Add("kind = 'company'")
		w.Add("name_key IN " + w.In(companyKeys...))
		err := p.scan(`SELECT name_key, entity, MIN(line) FROM import_rows`+w.SQL()+`
			GROUP BY name_key, entity ORDER BY name_key, entity`, w.Args(), func(rows *sql.Rows) error {
			var (
				key     string
				e, line int32
			)
			if err := rows.Scan(&key, &e, &line); err != nil {
				return err
			}
			byKey[key] = append(byKey[key], linkCand{entity: e, line: line})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, r := range page {
		if r.kind == KindContact && r.companyKey != "" {
			pc.links[r.number] = byKey[r.companyKey]
		}
	}
	keys := map[string]string{}
	for _, r := range page {
		if r.kind == KindContact && r.companyKey != "" && len(pc.links[r.number]) == 0 {
			keys[r.norm] = r.companyKey
		}
	}
	byName, err := p.baseCompaniesByName(keys)
	if err != nil {
		return nil, err
	}
	pc.baseByName = byName
	return pc, nil
}

// loadCompanies reads the base companies ids as Apply reads them, with
// their notes' texts and amoCRM IDs.
func (p *planner) loadCompanies(pc *pageContext, ids []any) error {
	if len(ids) == 0 {
		return nil
	}
	list := make([]int64, len(ids))
	for i, id := range ids {
		list[i] = id.(int64)
	}
	loaded, err := company.NewStore(p.db).LoadBatch(p.ctx, p.tx, list)
	if err != nil {
		return err
	}
	for _, c := range loaded {
		pc.companies[c.ID].Company = c
	}
	var w database.Where
	in := w.In(ids...)
	return p.scan(`SELECT company_id, text, 0 FROM company_notes WHERE company_id IN `+in+`
		UNION ALL SELECT company_id, '', amo_id FROM company_amo_ids WHERE company_id IN `+in,
		w.Args(), func(rows *sql.Rows) error {
			var (
				id, amo int64
				text    string
			)
			if err := rows.Scan(&id, &text, &amo); err != nil {
				return err
			}
			c := pc.companies[id]
			if amo != 0 {
				c.amoIDs = append(c.amoIDs, amo)
			} else {
				c.notes = append(c.notes, text)
			}
			return nil
		})
}

// loadContacts reads the base contacts ids and their lists.
func (p *planner) loadContacts(pc *pageContext, ids []any) error {
	if len(ids) == 0 {
		return nil
	}
	for _, c := range pc.contacts {
		c.phones, c.emails, c.amoIDs = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	var w database.Where
	in := w.In(ids...)
	err := p.scan(`SELECT id, first_name, last_name, middle_name, position, note, COALESCE(company_id, 0) FROM contacts WHERE id IN `+in,
		w.Args(), func(rows *sql.Rows) error {
			var (
				id int64
				c  baseContact
			)
			if err := rows.Scan(&id, &c.first, &c.last, &c.middle, &c.position, &c.note, &c.company); err != nil {
				return err
			}
			b := pc.contacts[id]
			c.phones, c.emails, c.amoIDs = b.phones, b.emails, b.amoIDs
			*b = c
			return nil
		})
	if err != nil {
		return err
	}
	return p.scan(`SELECT 1, contact_id, CASE WHEN e164 <> '' THEN e164 || '#' || ext ELSE value END FROM contact_phones WHERE contact_id IN `+in+`
		UNION ALL SELECT 2, contact_id, value_norm FROM contact_emails WHERE contact_id IN `+in+`
		UNION ALL SELECT 3, contact_id, CAST(amo_id AS TEXT) FROM contact_amo_ids WHERE contact_id IN `+in,
		w.Args(), func(rows *sql.Rows) error {
			var (
				what int
				id   int64
				v    string
			)
			if err := rows.Scan(&what, &id, &v); err != nil {
				return err
			}
			c := pc.contacts[id]
			switch what {
			case 1:
				c.phones[strings.TrimSpace(v)] = true
			case 2:
				c.emails[v] = true
			case 3:
				c.amoIDs[v] = true
			}
			return nil
		})
}

// companyUnchanged reports whether Apply would change nothing on base
// company id for the entity's records (head first): Apply's own rule,
// CompanyChanges.
func (pc *pageContext) companyUnchanged(id int64, recs []Record) bool {
	c := pc.companies[id]
	if c == nil || c.ID == 0 {
		return false
	}
	return len(CompanyChanges(c.Company, c.notes, c.amoIDs, recs)) == 0
}

// contactUnchanged reports whether Apply would change nothing on base
// contact id (its rule, amendContact's: a name part or position the file
// has replaces the base's, phones, e-mails and note texts are added when
// missing, the company is set when the file links one); company is the
// base company its row links to (0: none to check, -1: one being
// created).
func (pc *pageContext) contactUnchanged(id int64, m Record, amoIDs []int64, company int64) bool {
	c := pc.contacts[id]
	if c == nil {
		return false
	}
	same := func(file, base string) bool {
		file = strings.TrimSpace(file)
		return file == "" || file == strings.TrimSpace(base)
	}
	if !same(m.FirstName, c.first) || !same(m.LastName, c.last) || !same(m.MiddleName, c.middle) || !same(m.Position, c.position) {
		return false
	}
	if company == -1 || company > 0 && company != c.company {
		return false
	}
	for _, n := range m.Notes {
		if n = strings.TrimSpace(n); n != "" && !strings.Contains(c.note, n) {
			return false
		}
	}
	return allIn(m.Phones, c.phones, PhoneKey) && allIn(m.Emails, c.emails, EmailKey) && amoIn(amoIDs, c.amoIDs)
}

func allIn[T any](list []T, set map[string]bool, key func(T) string) bool {
	for _, v := range list {
		if !set[key(v)] {
			return false
		}
	}
	return true
}

// amoIn reports whether every amoCRM ID is kept for the base record.
func amoIn(ids []int64, set map[string]bool) bool {
	for _, id := range ids {
		if !set[strconv.FormatInt(id, 10)] {
			return false
		}
	}
	return true
}
