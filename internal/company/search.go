package company

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// Query is what a company list asks for. The zero Query is the first page
// of all visible companies by name.
type Query struct {
	// Text is the free-text search: an ИНН, a phone typed any common way
	// (or only its last seven digits), an e-mail, or words of the name or
	// legal name.
	Text string
	// Filters; 0 or "" means no filter.
	INN         string
	Branch      int64
	Responsible int64
	Status      int64
	Sphere      int64
	// Deleted lists the trash instead of the live companies (admins only).
	Deleted bool
	// Ordering is one of Orderings; "" is by name.
	Ordering string
	// Page counts from 1; PageSize defaults to 50.
	Page, PageSize int
	// Quick asks for suggestions while typing (the command palette): the
	// first PageSize hits in the order the word index gives them, without
	// counting or sorting every hit of a short prefix. Count is then the
	// number returned and More says whether there are others.
	Quick bool
	// Keyset pages through the whole result without OFFSET, for exports:
	// Page is ignored and the page starts after the company After (the
	// last one of the previous page; 0 starts at the beginning), in the
	// same order as the numbered pages. Each page costs the same however
	// deep it is. Only the first page (After 0) is counted.
	Keyset bool
	After  int64
	// FirstPhone reads each company's first phone alone (the one Phones[0]
	// is otherwise: by position, then id), in the statement that reads the
	// page, and none of its other phones, e-mails and spheres: the company
	// list page shows that phone and nothing else of them (the API's list
	// gives them all). The page then costs no statement for child rows.
	// A search by a phone or an e-mail reads the phones (and the e-mails)
	// in full all the same, for its "why found".
	FirstPhone bool
}

// Result is one page of a search.
type Result struct {
	Count     int
	Companies []Company
	// More is set by a Quick search that stopped before the last hit.
	More bool
}

// orderings maps the whitelisted ?ordering= values to ORDER BY clauses;
// each ends in the id so that pages are stable, and each has an index.
var orderings = map[string]string{
	"name":        "c.name_norm, c.id",
	"-name":       "c.name_norm DESC, c.id DESC",
	"created_at":  "c.created_at, c.id",
	"-created_at": "c.created_at DESC, c.id DESC",
	"updated_at":  "c.updated_at, c.id",
	"-updated_at": "c.updated_at DESC, c.id DESC",
	"inn":         "c.inn, c.id",
	"-inn":        "c.inn DESC, c.id DESC",
	"deleted_at":  "c.deleted_at, c.id",
	"-deleted_at": "c.deleted_at DESC, c.id DESC",
}

// Orderings lists the accepted values of Query.Ordering.
var Orderings = []string{"name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "inn", "-inn"}

// ValidOrdering reports whether o is an accepted ordering ("" included).
func ValidOrdering(o string) bool {
	_, ok := orderings[o]
	return o == "" || ok
}

// maxSearchWords bounds the words of a name search, each a range scan.
const maxSearchWords = 8

// textQuery is the free text classified: which exact keys to look up, and
// the name words that must each prefix a term.
type textQuery struct {
	inn, phone, email string
	// phoneSuffix is the last seven digits of a number («123-45-67»).
	phoneSuffix string
	words       []string
	// name is the whole text normalised as a name: a company whose
	// name_norm it is was named exactly and comes first.
	name string
}

// classify decides, in Go, what the text is. An ИНН-like or phone-like
// string is looked up exactly and also as name words (a name may contain
// digits); an e-mail-like one only as an e-mail.
func classify(text string) textQuery {
	var tq textQuery
	text = strings.TrimSpace(text)
	if text == "" {
		return tq
	}
	if dedup.IsEmailLike(text) {
		if e, ok := dedup.NormalizeEmail(text); ok {
			tq.email = e
		} else {
			tq.email = strings.ToLower(text)
		}
		return tq
	}
	if dedup.IsINNLike(text) {
		tq.inn = dedup.CleanDigits(text)
	}
	if p, ok := dedup.NormalizePhone(text); ok {
		tq.phone = p.E164
	}
	tq.phoneSuffix = dedup.PhoneSuffix(text)
	tq.words = dedup.Tokens(dedup.NormalizeName(text))
	switch {
	case tq.inn != "":
		tq.words = []string{tq.inn} // "7707 083 893" is one number, not three words
	case tq.phone != "" || tq.phoneSuffix != "":
		// A phone has no name words: its digit groups ("495", "45") would
		// prefix thousands of terms and find nothing a person meant.
		tq.words = nil
	}
	if len(tq.words) > maxSearchWords {
		tq.words = tq.words[:maxSearchWords]
	}
	if len(tq.words) > 0 {
		tq.name = dedup.NormalizeName(text)
	}
	return tq
}

// Search is the one company search: the list page, the API, the header
// search box, exports and bulk actions all call it. Exact hits (ИНН,
// phone, e-mail, the whole name) come first, then name hits in the requested order; each
// hit of a text search carries its Match. It runs a fixed number of
// queries whatever the page size: a plain list counts and then reads one
// page of rows, the names of their references from memory (walking the ordering's
// index, so it stops after the page); a text search reads the page and the
// total in one query, as its hits are gathered and sorted anyway. Then one
// query loads the page's phones, e-mails and spheres — none when the page
// read each company's first phone itself (Query.FirstPhone).
func (s *Store) Search(ctx context.Context, scope access.Scope, q Query) (Result, error) {
	if tq := classify(q.Text); q.Quick && wordsOnly(tq, q) {
		return s.quickSearch(ctx, scope, q, tq)
	}
	p, err := s.plan(scope, q)
	if err != nil || p.empty {
		return Result{Companies: []Company{}}, err
	}
	var res Result
	var list []Company
	var version int64 // the dictionaries' number the page was read at
	if p.ranked {
		// A text search counts its hits in the same pass that pages them.
		rows, err := s.db.QueryContext(ctx, p.pageSQL, p.pageArgs...)
		if err != nil {
			return res, fmt.Errorf("search companies: %w", err)
		}
		if list, res.Count, version, err = collectCounted(rows, p.firstPhone); err != nil {
			return res, err
		}
	}
	counted := !q.Keyset || q.After == 0
	paged := p.ranked
	switch {
	case counted && !p.ranked:
		// A plain list's count and page do not depend on each other:
		// they go together (one round trip on PostgreSQL,
		// database.ReadSet). A page past the end, which the count
		// alone would have spared, is read and dropped.
		set := s.db.NewReadSet()
		set.Query(p.countSQL, p.countArgs, func(rows database.Rows) error {
			for rows.Next() {
				if err := rows.Scan(&res.Count); err != nil {
					return fmt.Errorf("count companies: %w", err)
				}
			}
			return rows.Err()
		})
		set.Query(p.pageSQL, p.pageArgs, func(rows database.Rows) error {
			var err error
			list, version, err = collectOf(rows, p.firstPhone)
			return err
		})
		if err := set.Run(ctx); err != nil {
			return res, fmt.Errorf("search companies: %w", err)
		}
		paged = true
	case counted && len(list) == 0 && p.offset > 0:
		if err := s.db.QueryRowContext(ctx, p.countSQL, p.countArgs...).Scan(&res.Count); err != nil {
			return res, fmt.Errorf("count companies: %w", err)
		}
	}
	res.Companies = []Company{}
	if counted && (res.Count == 0 || p.offset >= res.Count) {
		return res, nil
	}
	tq, ranked := p.tq, p.ranked
	if !paged {
		rows, err := s.db.QueryContext(ctx, p.pageSQL, p.pageArgs...)
		if err != nil {
			return res, fmt.Errorf("search companies: %w", err)
		}
		if list, version, err = collect(rows, p.firstPhone); err != nil {
			return res, err
		}
	}
	if err := s.fillNames(ctx, s.db, list, version); err != nil {
		return res, err
	}
	// The "why found" of a phone search compares the phones, that of an
	// e-mail search the e-mails.
	if !p.firstPhone {
		if err := fillChildren(ctx, s.db, s.db.Dialect, list, q.FirstPhone && tq.email == ""); err != nil {
			return res, err
		}
	}
	if ranked {
		for i := range list {
			list[i].Match = tq.explain(&list[i])
		}
	}
	res.Companies = list
	return res, nil
}

// explain says why c was found by tq, checking the exact keys first.
func (tq textQuery) explain(c *Company) *Match {
	if tq.inn != "" && c.INN == tq.inn {
		return newMatch(MatchINN)
	}
	if tq.phone != "" && slices.ContainsFunc(c.Phones, func(p Phone) bool { return p.E164 == tq.phone }) {
		return newMatch(MatchPhone)
	}
	if tq.phoneSuffix != "" && slices.ContainsFunc(c.Phones, func(p Phone) bool {
		return dedup.Phone{E164: p.E164}.Suffix() == tq.phoneSuffix
	}) {
		return newMatch(MatchPhone)
	}
	if tq.email != "" && slices.ContainsFunc(c.Emails, func(e Email) bool { return e.Norm == tq.email }) {
		return newMatch(MatchEmail)
	}
	if prefixesAll(tq.words, dedup.Tokens(dedup.NormalizeName(c.Name))) {
		return newMatch(MatchName)
	}
	return newMatch(MatchLegalName)
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

// searchPlan is the SQL of one search, built apart from running it so that
// tests can look at the query plans.
type searchPlan struct {
	countSQL, pageSQL   string
	countArgs, pageArgs []any
	offset              int
	tq                  textQuery
	ranked, empty       bool
	// firstPhone: the page's rows end in firstPhoneColumns (Query.FirstPhone)
	// and need no child rows read apart.
	firstPhone bool
}

// plan builds the count and page queries of q under scope.
func (s *Store) plan(scope access.Scope, q Query) (searchPlan, error) {
	var p searchPlan
	sel, err := selectCompanies(scope, q)
	if err != nil {
		return p, err
	}
	p.tq, p.ranked, p.empty = sel.tq, sel.ranked, sel.empty
	if p.empty {
		return p, nil
	}
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PageSize < 1 {
		q.PageSize = 50
	}
	p.offset = database.PageOffset(q.Page, q.PageSize)
	if q.Keyset {
		p.offset = 0
	}
	tq := sel.tq
	p.firstPhone = q.FirstPhone && tq.phone == "" && tq.phoneSuffix == "" && tq.email == ""
	cols, phone := companyColumns, ""
	if p.firstPhone {
		cols, phone = companyColumns+firstPhoneColumns, firstPhoneJoin
	}
	if nameOnly(sel.tq, q) && !q.Keyset {
		return nameSearchPlan(scope, q, sel.tq, p, cols, phone), nil
	}
	w, with, from := &sel.w, sel.with, sel.from
	p.countSQL = with + "SELECT COUNT(*) FROM " + from + w.SQL()
	p.countArgs = slices.Clone(w.Args())
	if !p.ranked && !q.Deleted && q.INN == "" && q.Sphere == 0 {
		p.countSQL, p.countArgs = tallyCount(scope, q)
	}
	if q.Keyset && q.After != 0 {
		w.Add(keysetAfter(w, sel.order, p.ranked, q.After))
	}
	// The page's ids are found first, walking an index; only the rows of
	// the page are read in full (their references' names come from
	// memory, fillNames).
	// A text search also counts all its hits there (COUNT(*) OVER ()): the
	// hits are gathered and sorted anyway. A plain list must not, so that
	// it can stop walking the index after one page; it counts apart.
	order := sel.orderBy()
	rank, total, outerOrder := "", "", order
	if p.ranked {
		rank = ", h.hit_rank AS hit_rank, COUNT(*) OVER () AS total"
		total = ", pg.total"
		outerOrder = strings.Replace(order, "h.hit_rank", "pg.hit_rank", 1)
	}
	p.pageSQL = with + "SELECT " + cols + total + " FROM (SELECT c.id AS page_id" + rank + " FROM " + from + w.SQL() +
		" ORDER BY " + order + database.Limit(q.PageSize, p.offset) + ") pg" +
		" JOIN companies c ON c.id = pg.page_id" + phone + " ORDER BY " + outerOrder
	p.pageArgs = w.Args()
	return p, nil
}

// selection is the companies a query selects under a scope, as the SQL
// that every statement of a search is built on — the count, the page,
// and the export's streams (see Selection) — so that they all select
// and order alike.
type selection struct {
	// with is the WITH clause naming a text search's hits h (in keyset
	// mode, where the cursor looks up its own rank), or "".
	with string
	// from is the companies as c, joined to the hits h for a text search.
	from string
	// w holds the conditions, and the arguments of with and from too.
	w database.Where
	// order is the list's ORDER BY, ending in c.id, without the rank.
	order string
	tq    textQuery
	// ranked is a text search: hits ordered by their rank first.
	ranked bool
	// empty is a text with nothing to search for: no company.
	empty bool
}

// orderBy is the ORDER BY of the selection: the rank of a text search's
// hit, then the list's order.
func (sel *selection) orderBy() string {
	if sel.ranked {
		return "h.hit_rank, " + sel.order
	}
	return sel.order
}

// selectCompanies builds the selection of q under scope (its paging
// aside).
func selectCompanies(scope access.Scope, q Query) (selection, error) {
	var sel selection
	if q.Deleted {
		if err := scope.CanManage(); err != nil {
			return sel, err
		}
	}
	order, ok := orderings[q.Ordering]
	switch {
	case !ok && q.Ordering != "":
		return sel, apperr.Invalid{"ordering": "Сортировка возможна по полям: " + strings.Join(Orderings, ", ")}
	case q.Ordering == "" && q.Deleted:
		order = orderings["-deleted_at"]
	case q.Ordering == "":
		order = orderings["name"]
	}
	sel.order = order

	// live repeats the partial indexes' predicates so that both planners
	// can use them (deleted companies are looked up in full).
	live := " AND deleted_at IS NULL"
	if q.Deleted {
		live = ""
	}
	w := &sel.w
	sel.from = "companies c"
	tq := classify(q.Text)
	sel.tq = tq
	sel.ranked = tq.inn != "" || tq.phone != "" || tq.phoneSuffix != "" || tq.email != "" || len(tq.words) > 0
	if strings.TrimSpace(q.Text) != "" && !sel.ranked {
		sel.empty = true // nothing searchable, e.g. only punctuation
		return sel, nil
	}
	if sel.ranked {
		// hits holds the ids found by each key with their rank: 0 for an
		// exact key, 1 for a name hit. Each branch is an index look-up.
		var parts []string
		if tq.inn != "" {
			parts = append(parts, "SELECT id AS id, 0 AS hit_rank FROM companies WHERE inn = "+w.Arg(tq.inn)+" AND inn <> ''"+live)
		}
		if tq.phone != "" {
			parts = append(parts, "SELECT company_id AS id, 0 AS hit_rank FROM company_phones WHERE e164 = "+w.Arg(tq.phone)+" AND e164 <> ''")
		}
		if tq.phoneSuffix != "" {
			parts = append(parts, "SELECT company_id AS id, 0 AS hit_rank FROM company_phones WHERE e164_suffix = "+
				w.Arg(tq.phoneSuffix)+" AND e164_suffix <> ''")
		}
		if tq.email != "" {
			parts = append(parts, "SELECT company_id AS id, 0 AS hit_rank FROM company_emails WHERE value_norm = "+w.Arg(tq.email)+" AND value_norm <> ''")
		}
		if tq.name != "" && !q.Deleted {
			parts = append(parts, "SELECT id AS id, 0 AS hit_rank FROM companies WHERE name_norm = "+w.Arg(tq.name)+live)
		}
		if len(tq.words) > 0 {
			// Every word must prefix some term: a byte-range scan of the
			// terms' primary key per word, intersected.
			var sets []string
			for _, word := range tq.words {
				sets = append(sets, "SELECT company_id FROM company_terms WHERE term >= "+w.Arg(word)+
					" AND term < "+w.Arg(database.PrefixEnd(word)))
			}
			parts = append(parts, "SELECT company_id AS id, 1 AS hit_rank FROM ("+strings.Join(sets, " INTERSECT ")+") nh")
		}
		hits := "SELECT id, MIN(hit_rank) AS hit_rank FROM (" + strings.Join(parts, " UNION ALL ") + ") hits GROUP BY id"
		sel.from = "(" + hits + ") h JOIN companies c ON c.id = h.id"
		if q.Keyset {
			// The cursor looks up its own rank, so h is named once for both.
			sel.with = "WITH h AS (" + hits + ") "
			sel.from = "h JOIN companies c ON c.id = h.id"
		}
	}
	if q.Deleted {
		// Merged companies are deleted too, but they come back by undoing
		// the merge, not from the trash.
		w.Add("c.deleted_at IS NOT NULL AND c.merged_into IS NULL")
	} else {
		w.Add("c.deleted_at IS NULL")
	}
	scope.Restrict(w, "c")
	if q.INN != "" {
		w.Add("c.inn = ? AND c.inn <> ''", dedup.CleanDigits(q.INN))
	}
	if q.Branch != 0 {
		w.Add("c.branch_id = ?", q.Branch)
	}
	if q.Responsible != 0 {
		w.Add("c.responsible_id = ?", q.Responsible)
	}
	if q.Status != 0 {
		w.Add("c.status_id = ?", q.Status)
	}
	if q.Sphere != 0 {
		w.Add("c.id IN (SELECT company_id FROM company_spheres WHERE sphere_id = ?)", q.Sphere)
	}
	return sel, nil
}

// keysetAfter is the condition of a keyset page: the rows after the
// company after in order (an ORDER BY of orderings, without the rank).
// The cursor's sort key is read from its row, so that the database
// compares its own stored values (no time formats round-trip through
// Go); a ranked search compares the cursor's rank first.
func keysetAfter(w *database.Where, order string, ranked bool, after int64) string {
	key, _, _ := strings.Cut(order, ",")
	op := ">"
	if k, ok := strings.CutSuffix(key, " DESC"); ok {
		key, op = k, "<"
	}
	cond := "(" + key + ", c.id) " + op + " (SELECT " + strings.TrimPrefix(key, "c.") + ", id FROM companies WHERE id = " + w.Arg(after) + ")"
	if !ranked {
		return cond
	}
	return "(h.hit_rank > (SELECT hit_rank FROM h WHERE id = " + w.Arg(after) + ") OR h.hit_rank = (SELECT hit_rank FROM h WHERE id = " +
		w.Arg(after) + ") AND " + cond + ")"
}

// tallyCount counts a list without text search, ИНН or sphere filters
// from company_tallies (kept exact by triggers): a few hundred rows
// instead of every visible company. The scope restricts it through the
// same access rule, since the tallies carry branch_id and responsible_id.
func tallyCount(scope access.Scope, q Query) (string, []any) {
	var w database.Where
	scope.Restrict(&w, "t")
	if q.Branch != 0 {
		w.Add("t.branch_id = ?", q.Branch)
	}
	if q.Responsible != 0 {
		w.Add("t.responsible_id = ?", q.Responsible)
	}
	if q.Status != 0 {
		w.Add("t.status_id = ?", q.Status)
	}
	return "SELECT COALESCE(SUM(t.n), 0) FROM company_tallies t" + w.SQL(), w.Args()
}

// nameOnly reports whether q is a search by one name word alone, ordered
// by name, with no filter the word index cannot answer: the broadest
// common search (a prefix typed so far), which nameSearchPlan serves from
// one covering index. Several words intersect to few hits, which the
// general plan handles well.
func nameOnly(tq textQuery, q Query) bool {
	return len(tq.words) == 1 && tq.inn == "" && tq.phone == "" && tq.phoneSuffix == "" && tq.email == "" &&
		!q.Deleted && q.INN == "" && q.Status == 0 && q.Sphere == 0 &&
		(q.Ordering == "" || q.Ordering == "name" || q.Ordering == "-name")
}

// nameSearchPlan finds companies by a name word in company_terms alone:
// the word's index range carries each company's sort key, liveness and
// the columns the access scope filters on, so counting, scoping and
// ordering thousands of hits never visit the companies table. Only the
// page's rows are read in full, in the columns cols (with the join phone:
// plan's first phone).
func nameSearchPlan(scope access.Scope, q Query, tq textQuery, p searchPlan, cols, phone string) searchPlan {
	hits := func(w *database.Where) string {
		first := tq.words[0]
		w.Add("t.term >= ? AND t.term < ?", first, database.PrefixEnd(first))
		w.Add("t.live")
		scope.Restrict(w, "t")
		if q.Branch != 0 {
			w.Add("t.branch_id = ?", q.Branch)
		}
		if q.Responsible != 0 {
			w.Add("t.responsible_id = ?", q.Responsible)
		}
		return "SELECT DISTINCT t.company_id AS id, t.name_norm FROM company_terms t" + w.SQL()
	}
	dir := ""
	if q.Ordering == "-name" {
		dir = " DESC"
	}
	var w database.Where
	h := hits(&w)
	// The company named exactly by the word comes first, whatever the direction.
	exact := "CASE WHEN h.name_norm = " + w.Arg(tq.name) + " THEN 0 ELSE 1 END"
	p.pageSQL = "SELECT " + cols + ", pg.total FROM (SELECT h.id AS page_id, h.name_norm AS nn, " + exact + " AS exact, COUNT(*) OVER () AS total FROM (" + h + ") h" +
		" ORDER BY exact, h.name_norm" + dir + ", h.id" + dir + database.Limit(q.PageSize, p.offset) + ") pg" +
		" JOIN companies c ON c.id = pg.page_id" + phone + " ORDER BY pg.exact, pg.nn" + dir + ", c.id" + dir
	p.pageArgs = w.Args()
	var cw database.Where
	p.countSQL = "SELECT COUNT(*) FROM (" + hits(&cw) + ") h"
	p.countArgs = cw.Args()
	return p
}
