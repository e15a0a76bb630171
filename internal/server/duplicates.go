package server

import (
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/duplicate"
)

// Limits of a duplicate query: the form sends what one company can hold,
// anything beyond is not a company being typed.
const (
	maxDuplicateResults = 20
	maxDuplicateName    = 255  // characters of a name, an ИНН, a website (as the company form)
	maxDuplicateText    = 1000 // characters of an address, a phone, an e-mail
	maxDuplicateValues  = 20   // phones or e-mails
)

// findDuplicates answers GET /api/companies/duplicates/ with the likely
// duplicates of what is typed: {"results": [Match]}, best first. The
// company form calls it on every typing pause, so it reads only indexes
// (see internal/duplicate). Matches the caller may not see show only that
// they exist.
func (s *Server) findDuplicates(w http.ResponseWriter, r *http.Request) error {
	p, err := duplicateProbe(r.URL.RawQuery)
	if err != nil {
		return err
	}
	matches, err := s.dups.Find(r.Context(), scopeFrom(r), p, maxDuplicateResults)
	if err != nil {
		return err
	}
	if matches == nil {
		matches = []duplicate.Match{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"results": matches})
}

// duplicateProbe reads the raw query (name, inn, kpp, ogrn, address, website,
// phone and email repeated, exclude) into a probe; hostile input — huge
// values, hundreds of phones, an exclude that is not an id — is a 400
// with field messages.
func duplicateProbe(raw string) (duplicate.Probe, error) {
	var p duplicate.Probe
	inv := apperr.Invalid{}
	q := queryValues(raw, inv)
	text := func(key string, dst *string, limit int) {
		vals := q[key]
		if len(vals) > 1 {
			inv.Add(key, "Укажите одно значение")
			return
		}
		if len(vals) == 0 {
			return
		}
		if msg := badText(vals[0], limit); msg != "" {
			inv.Add(key, msg)
			return
		}
		*dst = vals[0]
	}
	text("name", &p.Name, maxDuplicateName)
	text("inn", &p.INN, maxDuplicateName)
	text("kpp", &p.KPP, maxDuplicateName)
	text("ogrn", &p.OGRN, maxDuplicateName)
	text("address", &p.Address, maxDuplicateText)
	text("website", &p.Website, maxDuplicateName)
	list := func(key string, dst *[]string) {
		vals := q[key]
		if len(vals) > maxDuplicateValues {
			inv.Add(key, fmt.Sprintf("Не больше %d значений", maxDuplicateValues))
			return
		}
		for _, v := range vals {
			if msg := badText(v, maxDuplicateText); msg != "" {
				inv.Add(key, msg)
				return
			}
			if v != "" {
				*dst = append(*dst, v)
			}
		}
	}
	list("phone", &p.Phones)
	list("email", &p.Emails)
	if ex := q.Get("exclude"); ex != "" {
		id, err := strconv.ParseInt(ex, 10, 64)
		if err != nil || id <= 0 {
			inv.Add("exclude", "Неверный идентификатор компании")
		}
		p.Exclude = id
	}
	return p, inv.Err()
}

// badText says, in Russian, what is wrong with a typed value: bytes that
// are not text, or more than limit characters; "" when it is fine.
func badText(v string, limit int) string {
	switch {
	case !utf8.ValidString(v):
		return "Значение содержит недопустимые символы"
	case utf8.RuneCountInString(v) > limit:
		return fmt.Sprintf("Значение не длиннее %d символов", limit)
	}
	return ""
}
