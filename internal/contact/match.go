package contact

import (
	"slices"
	"strings"

	"github.com/crmprofi/crm/internal/dedup"
)

// Match says why a contact was found by a search, as a short Russian label
// for the «why found» chip, the way company.Match does for companies.
type Match struct {
	Field string `json:"field"` // email, phone, name, position, company
	Label string `json:"label"`
}

// The fields a contact search can match on.
const (
	MatchEmail    = "email"
	MatchPhone    = "phone"
	MatchName     = "name"
	MatchPosition = "position"
	MatchCompany  = "company"
)

var matchLabels = map[string]string{
	MatchEmail:    "Найдено: e-mail",
	MatchPhone:    "Найдено: телефон",
	MatchName:     "Найдено: ФИО",
	MatchPosition: "Найдено: должность",
	MatchCompany:  "Найдено: компания",
}

func newMatch(field string) *Match { return &Match{Field: field, Label: matchLabels[field]} }

// explain says why c was found by the search text q, deciding the way
// hits does: an e-mail or a phone exactly, else every word as a prefix of
// the contact's names (then its names and position), else of its
// company's name.
func explain(q string, c *Contact) *Match {
	q = strings.TrimSpace(q)
	if dedup.IsEmailLike(q) {
		return newMatch(MatchEmail)
	}
	if dedup.PhoneDigits(q) != "" {
		return newMatch(MatchPhone)
	}
	words := dedup.Tokens(dedup.NormalizeText(q))
	names := dedup.Tokens(nameNorm(c.LastName, c.FirstName, c.MiddleName))
	switch {
	case prefixesAll(words, names):
		return newMatch(MatchName)
	case prefixesAll(words, append(names, dedup.Tokens(dedup.NormalizeText(c.Position))...)):
		return newMatch(MatchPosition)
	}
	return newMatch(MatchCompany)
}

// prefixesAll reports whether every word is a prefix of some term.
func prefixesAll(words, terms []string) bool {
	for _, w := range words {
		if !slices.ContainsFunc(terms, func(t string) bool { return strings.HasPrefix(t, w) }) {
			return false
		}
	}
	return len(words) > 0
}
