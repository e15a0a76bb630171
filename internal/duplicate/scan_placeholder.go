// Package duplicate finds likely duplicate companies.
//
// This file is a stand-in for the matching engine (Record, Reason, Score,
// Likely, Engine.Records) until the engine's own files arrive; the scan in
// scan.go is written against that API. Delete this file when merging them.
package duplicate

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/crmprofi/crm/internal/database"
)

// Likely is the score from which a pair is shown as a likely duplicate.
const Likely = 0.6

// Reason is one explained signal of a match.
type Reason struct {
	Field  string `json:"field"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Record is what the engine compares of one company.
type Record struct {
	ID                                          int64
	Name, INN, KPP, OGRN, NameNorm, AddressNorm string
	Website                                     string
	Phones, Emails                              []string
}

// Engine reads records.
type Engine struct{ db *database.DB }

// NewEngine is the engine on db.
func NewEngine(db *database.DB) *Engine { return &Engine{db: db} }

// Records reads the records of ids (missing ids are left out).
func (e *Engine) Records(ctx context.Context, ids []int64) ([]Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in := idList(ids)
	q := `SELECT id, name, inn, kpp, ogrn, name_norm, address_norm, website FROM companies WHERE id IN ` + in
	rows, err := e.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	byID := map[int64]*Record{}
	var out []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Name, &r.INN, &r.KPP, &r.OGRN, &r.NameNorm, &r.AddressNorm, &r.Website); err != nil {
			_ = rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	_ = rows.Close()
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	for _, t := range []struct {
		q     string
		phone bool
	}{
		{`SELECT company_id, e164 FROM company_phones WHERE e164 <> '' AND company_id IN ` + in, true},
		{`SELECT company_id, value_norm FROM company_emails WHERE value_norm <> '' AND company_id IN ` + in, false},
	} {
		rows, err := e.db.QueryContext(ctx, t.q)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				_ = rows.Close()
				return nil, err
			}
			if r := byID[id]; r != nil && t.phone {
				r.Phones = append(r.Phones, v)
			} else if r != nil {
				r.Emails = append(r.Emails, v)
			}
		}
		_ = rows.Close()
	}
	return out, nil
}

// Score is a placeholder: exact signals only.
func Score(a, b Record) (float64, []Reason) {
	var rs []Reason
	s := 0.0
	if a.INN != "" && a.INN == b.INN {
		rs = append(rs, Reason{"inn", "exact", "совпадает ИНН"})
		s += 0.9
	}
	if a.OGRN != "" && a.OGRN == b.OGRN {
		rs = append(rs, Reason{"ogrn", "exact", "совпадает ОГРН"})
		s += 0.9
	}
	if a.NameNorm != "" && a.NameNorm == b.NameNorm {
		rs = append(rs, Reason{"name", "normalized", "совпадает название"})
		s += 0.5
		if a.AddressNorm != "" && a.AddressNorm == b.AddressNorm {
			rs = append(rs, Reason{"address", "normalized", "совпадает адрес"})
			s += 0.3
		}
	} else if a.NameNorm != "" && b.NameNorm != "" && (strings.HasPrefix(a.NameNorm, b.NameNorm) || strings.HasPrefix(b.NameNorm, a.NameNorm)) {
		rs = append(rs, Reason{"name", "similar", "похожее название"})
		s += 0.3
	}
	for _, p := range a.Phones {
		if contains(b.Phones, p) {
			rs = append(rs, Reason{"phone", "normalized", "общий телефон"})
			s += 0.7
			break
		}
	}
	for _, p := range a.Emails {
		if contains(b.Emails, p) {
			rs = append(rs, Reason{"email", "normalized", "общий e-mail"})
			s += 0.7
			break
		}
	}
	if d := WebsiteDomain(a.Website); d != "" && d == WebsiteDomain(b.Website) {
		rs = append(rs, Reason{"website", "normalized", "один сайт"})
		s += 0.6
	}
	return min(s, 1), rs
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// WebsiteDomain is the host of a website without "www.".
func WebsiteDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Hostname(), "www.")
}
