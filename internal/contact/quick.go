package contact

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// searchWords returns the words of a search that is neither an e-mail nor
// a phone number.
func searchWords(q string) ([]string, bool) {
	q = strings.TrimSpace(q)
	if q == "" || dedup.IsEmailLike(q) || dedup.PhoneDigits(q) != "" {
		return nil, false
	}
	words := dedup.Tokens(dedup.NormalizeText(q))
	return words, len(words) > 0
}

// quickList is a Quick search by words: the contacts whose own words
// match first, then the contacts of companies whose name matches, each
// read in the word index's order (by the word, then by name) from the
// range of the longest word, the other words checked on the way, and
// stopped after a page. The hits are the same as the full search's; only
// their order and the missing total differ.
func (s *Store) quickList(ctx context.Context, sc access.Scope, words []string, size int) ([]Contact, int, error) {
	drive := slices.MaxFunc(words, func(a, b string) int { return utf8.RuneCountInString(a) - utf8.RuneCountInString(b) })
	limit := 4 * (size + 1)

	// Own words: names and position.
	var w database.Where
	from := "contact_terms t"
	w.Add("t.term >= ? AND t.term < ?", drive, database.PrefixEnd(drive))
	w.Add("t.live")
	if !sc.SeesAll() {
		from += " JOIN contacts ct ON ct.id = t.contact_id LEFT JOIN companies vc ON vc.id = ct.company_id"
		sc.RestrictJoinedContacts(&w, "ct", "vc")
	}
	for _, word := range words {
		if word != drive {
			w.Add("EXISTS (SELECT 1 FROM contact_terms o WHERE o.contact_id = t.contact_id AND o.term >= ? AND o.term < ?)",
				word, database.PrefixEnd(word))
		}
	}
	ids, err := queryIDs(ctx, s.db, "SELECT t.contact_id FROM "+from+w.SQL()+
		" ORDER BY t.term, t.live, t.name_norm, t.contact_id LIMIT "+w.Arg(limit), w.Args())
	if err != nil {
		return nil, 0, fmt.Errorf("quick contact search: %w", err)
	}
	ids = firstUnique(nil, ids, size+1)

	// The company's name (live or not, as in the full search).
	if len(ids) <= size {
		var cw database.Where
		cw.Add("m.term >= ? AND m.term < ?", drive, database.PrefixEnd(drive))
		cw.Add("ct.deleted_at IS NULL")
		join := ""
		if !sc.SeesAll() {
			join = " LEFT JOIN companies vc ON vc.id = ct.company_id"
			sc.RestrictJoinedContacts(&cw, "ct", "vc")
		}
		for _, word := range words {
			if word != drive {
				cw.Add("EXISTS (SELECT 1 FROM company_terms o WHERE o.company_id = m.company_id AND o.term >= ? AND o.term < ?)",
					word, database.PrefixEnd(word))
			}
		}
		more, err := queryIDs(ctx, s.db, "SELECT ct.id FROM company_terms m JOIN contacts ct ON ct.company_id = m.company_id"+join+cw.SQL()+
			" ORDER BY m.term, m.live, m.name_norm, m.company_id, ct.id LIMIT "+cw.Arg(limit), cw.Args())
		if err != nil {
			return nil, 0, fmt.Errorf("quick contact search: %w", err)
		}
		ids = firstUnique(ids, more, size+1)
	}
	count := len(ids)
	if len(ids) > size {
		ids = ids[:size]
	}
	list, err := s.byIDs(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	return list, count - len(ids) + len(list), nil
}

// firstUnique appends to dst the ids of more that it lacks, up to n in all.
func firstUnique(dst, more []int64, n int) []int64 {
	for _, id := range more {
		if len(dst) >= n {
			break
		}
		if !slices.Contains(dst, id) {
			dst = append(dst, id)
		}
	}
	return dst
}
