package main

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/duplicate"
)

// duplicateProbes are what people type into the company form, taken from
// the loaded companies: the first letters of a name, a name with one
// letter wrong, an ИНН, a phone in another format, and a whole company
// card as the edit form sends it (every field, the company excluded).
type duplicateProbes struct {
	prefixes, misspelt, inns, phones, cards []string
	// originals[i] is the normalised name misspelt[i] was made from.
	originals []string
}

// sampleDuplicates spreads n probes of each kind over the companies.
func sampleDuplicates(ctx context.Context, db *database.DB, n int) (duplicateProbes, error) {
	var p duplicateProbes
	rows, err := db.QueryContext(ctx, `SELECT c.id, c.name, c.inn, c.kpp, c.address, c.website,
		COALESCE((SELECT e164 FROM company_phones p WHERE p.company_id = c.id ORDER BY position LIMIT 1), '')
		FROM companies c WHERE c.deleted_at IS NULL ORDER BY c.id LIMIT $1`, n*50)
	if err != nil {
		return p, err
	}
	defer func() { _ = rows.Close() }()
	i := 0
	for rows.Next() {
		var id, name, inn, kpp, address, website, e164 string
		if err := rows.Scan(&id, &name, &inn, &kpp, &address, &website, &e164); err != nil {
			return p, err
		}
		i++
		if i%50 != 0 {
			continue
		}
		norm := []rune(dedup.NormalizeName(name))
		if len(norm) >= 4 {
			p.prefixes = append(p.prefixes, string(norm[:min(len(norm), 3+i%5)]))
			wrong := append([]rune(nil), norm...)
			k := len(wrong) / 2
			if wrong[k] == 'о' {
				wrong[k] = 'а'
			} else {
				wrong[k] = 'о'
			}
			p.misspelt = append(p.misspelt, "ООО «"+string(wrong)+"»")
			p.originals = append(p.originals, string(norm))
		}
		if inn != "" {
			p.inns = append(p.inns, inn)
		}
		phone := ""
		if len(e164) == 12 && strings.HasPrefix(e164, "+7") {
			d := e164[2:]
			phone = "8 (" + d[:3] + ") " + d[3:6] + "-" + d[6:8] + "-" + d[8:]
			p.phones = append(p.phones, phone)
		}
		q := url.Values{"name": {name}, "inn": {inn}, "kpp": {kpp}, "address": {address}, "website": {website}, "exclude": {id}}
		if phone != "" {
			q.Set("phone", phone)
		}
		p.cards = append(p.cards, q.Encode())
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	if len(p.prefixes) == 0 || len(p.inns) == 0 || len(p.phones) == 0 {
		return p, errors.New("the database has too little data to sample from")
	}
	return p, nil
}

// duplicateOps are the company form's duplicate check as typing goes on.
func duplicateOps(admin, manager string, p duplicateProbes, pick func([]string) string) []benchOp {
	const base = "/api/companies/duplicates/?"
	q := func(key string, list []string) func() string {
		return func() string { return base + url.Values{key: {pick(list)}}.Encode() }
	}
	return []benchOp{
		{"Дубли: начало названия (API)", admin, q("name", p.prefixes)},
		{"Дубли: название с опечаткой (API)", admin, q("name", p.misspelt)},
		{"Дубли: ИНН (API)", admin, q("inn", p.inns)},
		{"Дубли: телефон в другом формате (API)", admin, q("phone", p.phones)},
		{"Дубли: вся карточка, правка (API)", admin, func() string { return base + pick(p.cards) }},
		{"Дубли: вся карточка (API, менеджер)", manager, func() string { return base + pick(p.cards) }},
	}
}

// misspeltRecall is how many of the misspelt names find a company with
// the name they were made from among the engine's 20 best: the price, if
// any, of bounding the similar-name search.
func misspeltRecall(ctx context.Context, db *database.DB, adminID int64, p duplicateProbes) (found, total int, err error) {
	admin := access.Scope{UserID: adminID, Role: access.RoleAdmin, Data: access.Global, Name: "bench"}
	engine := duplicate.New(db)
	for i, name := range p.misspelt {
		list, err := engine.Find(ctx, admin, duplicate.Probe{Name: name}, 20)
		if err != nil {
			return 0, 0, err
		}
		total++
		if slices.ContainsFunc(list, func(m duplicate.Match) bool { return dedup.NormalizeName(m.Name) == p.originals[i] }) {
			found++
		}
	}
	return found, total, nil
}
