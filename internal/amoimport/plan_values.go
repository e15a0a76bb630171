package amoimport

import (
	"strings"

	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/dedup"
)

// MergeRecords is the one company or contact that the rows of an entity
// stand for, in the order of their numbers: the first row's values, each
// empty one filled from the next row that has it (the ИНН only from a
// valid one); phones, e-mails, notes and spheres of all rows, without
// repeats — the way Apply joins an entity's rows. Plan compares a
// contact's with the base by it to tell an update from «Без изменений»
// (a company's is Apply's own CompanyChanges), and the branch reason
// compares a row's КПП with it.
func MergeRecords(recs []Record) Record {
	if len(recs) == 0 {
		return Record{}
	}
	m := recs[0]
	m.Issues = nil
	m.INN = usableINN(m.INN)
	m.Phones = append([]contactinfo.Phone(nil), m.Phones...)
	m.Emails = append([]contactinfo.Email(nil), m.Emails...)
	m.Notes = append([]string(nil), m.Notes...)
	m.Spheres = append([]string(nil), m.Spheres...)
	phones, emails, notes, spheres := seen(m.Phones, PhoneKey), seen(m.Emails, EmailKey), seen(m.Notes, noteKey), seen(m.Spheres, SphereKey)
	for _, r := range recs[1:] {
		fill(&m.Name, r.Name)
		fill(&m.FirstName, r.FirstName)
		fill(&m.LastName, r.LastName)
		fill(&m.MiddleName, r.MiddleName)
		fill(&m.Position, r.Position)
		fill(&m.Company, r.Company)
		fill(&m.Responsible, r.Responsible)
		fill(&m.CreatedBy, r.CreatedBy)
		fill(&m.UpdatedBy, r.UpdatedBy)
		fill(&m.INN, usableINN(r.INN))
		fill(&m.KPP, r.KPP)
		fill(&m.OGRN, r.OGRN)
		fill(&m.Address, r.Address)
		fill(&m.Website, r.Website)
		if m.AmoID == 0 {
			m.AmoID = r.AmoID
		}
		m.Phones = appendNew(m.Phones, r.Phones, phones, PhoneKey)
		m.Emails = appendNew(m.Emails, r.Emails, emails, EmailKey)
		m.Notes = appendNew(m.Notes, r.Notes, notes, noteKey)
		m.Spheres = appendNew(m.Spheres, r.Spheres, spheres, SphereKey)
	}
	return m
}

// PhoneKey is what makes two phones one: the normal form and extension,
// or the number as written when it has no normal form.
func PhoneKey(p contactinfo.Phone) string {
	if p.E164 != "" {
		return p.E164 + "#" + p.Ext
	}
	return strings.TrimSpace(p.Value)
}

// EmailKey is what makes two e-mail addresses one.
func EmailKey(e contactinfo.Email) string {
	if n, ok := dedup.NormalizeEmail(e.Value); ok {
		return n
	}
	return strings.ToLower(strings.TrimSpace(e.Value))
}

// SphereKey is what makes two spheres one.
func SphereKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func noteKey(s string) string { return strings.TrimSpace(s) }

func fill(dst *string, v string) {
	if strings.TrimSpace(*dst) == "" {
		*dst = v
	}
}

func seen[T any](list []T, key func(T) string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[key(v)] = true
	}
	return m
}

func appendNew[T any](dst, src []T, seen map[string]bool, key func(T) string) []T {
	for _, v := range src {
		if k := key(v); !seen[k] {
			seen[k] = true
			dst = append(dst, v)
		}
	}
	return dst
}
