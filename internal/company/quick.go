package company

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// wordsOnly reports whether q searches by name words alone, with no exact
// key and no filter: what a Quick search answers from the word index.
func wordsOnly(tq textQuery, q Query) bool {
	return len(tq.words) > 0 && tq.inn == "" && tq.phone == "" && tq.email == "" &&
		!q.Deleted && q.INN == "" && q.Branch == 0 && q.Responsible == 0 && q.Status == 0 && q.Sphere == 0
}

// quickSearch is a Quick search by name words: it walks the index range
// of the longest word (the rarest, as a rule) in the index's own order —
// by the word, then by name — and stops after a page, checking the other
// words and the scope on the way. A one-letter prefix matching half the
// base costs a page, not the half. The hits are the same as the full
// search's; only their order (word, then name) and the missing total
// differ.
func (s *Store) quickSearch(ctx context.Context, scope access.Scope, q Query, tq textQuery) (Result, error) {
	res := Result{Companies: []Company{}}
	size := q.PageSize
	if size < 1 {
		size = 50
	}
	drive := slices.MaxFunc(tq.words, func(a, b string) int { return utf8.RuneCountInString(a) - utf8.RuneCountInString(b) })
	var w database.Where
	w.Add("t.term >= ? AND t.term < ?", drive, database.PrefixEnd(drive))
	w.Add("t.live")
	scope.Restrict(&w, "t")
	for _, word := range tq.words {
		if word != drive {
			w.Add("EXISTS (SELECT 1 FROM company_terms o WHERE o.company_id = t.company_id AND o.term >= ? AND o.term < ?)",
				word, database.PrefixEnd(word))
		}
	}
	// A company has a row per word; a few extra rows cover companies that
	// have two words starting alike.
	query := "SELECT t.company_id FROM company_terms t" + w.SQL() +
		" ORDER BY t.term, t.live, t.name_norm, t.company_id LIMIT " + w.Arg(4*(size+1))
	rows, err := s.db.QueryContext(ctx, query, w.Args()...)
	if err != nil {
		return res, fmt.Errorf("quick company search: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() && len(ids) <= size {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return res, fmt.Errorf("quick company search: %w", err)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("quick company search: %w", err)
	}
	_ = rows.Close()
	if len(ids) > size {
		ids, res.More = ids[:size], true
	}
	if len(ids) == 0 {
		return res, nil
	}
	var lw database.Where
	lw.Add("c.id IN " + lw.In(database.IDs(ids)...))
	crows, err := s.db.QueryContext(ctx, "SELECT "+companyColumns+" FROM companies c"+lw.SQL(), lw.Args()...)
	if err != nil {
		return res, fmt.Errorf("quick company search: %w", err)
	}
	list, version, err := collect(crows, false)
	if err != nil {
		return res, err
	}
	if err := s.fillNames(ctx, s.db, list, version); err != nil {
		return res, err
	}
	slices.SortFunc(list, func(a, b Company) int { return slices.Index(ids, a.ID) - slices.Index(ids, b.ID) })
	if err := fillChildren(ctx, s.db, s.db.Dialect, list, false); err != nil {
		return res, err
	}
	for i := range list {
		list[i].Match = tq.explain(&list[i])
	}
	res.Companies, res.Count = list, len(list)
	return res, nil
}
