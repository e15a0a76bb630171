package duplicate

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// Engine finds duplicates in the database. It reads only: the check on
// save runs it inside the save's transaction (WithTx).
type Engine struct {
	db *database.DB
}

// New returns an Engine on db.
func New(db *database.DB) *Engine { return &Engine{db: db} }

// WithTx returns the engine reading inside the caller's transaction tx, so
// that a save sees the companies written before it in the same
// transaction and the check and the write are one step.
func (e *Engine) WithTx(tx *sql.Tx) *Engine { return &Engine{db: e.db.WithTx(tx)} }

// perSignal bounds the candidates one signal brings: a name shared by
// thousands of companies must not make every check read thousands.
const perSignal = 50

// Find returns the companies that may be duplicates of p, best first, at
// most limit. Every live company is considered, whatever the scope: the
// scope decides only what each match shows (see Match). Deleted companies,
// and companies merged into another (deleted too), are never candidates.
//
// It sends two statements (issue 6: a save's check sent seven): the exact
// signals' ids with the similar-name candidates' names (lookQuery), then,
// once Go has verified the names' similarity, the companies of the most
// similar names and of the exact signals with their phones, e-mails and
// whether the scope sees them (foundQuery).
func (e *Engine) Find(ctx context.Context, scope access.Scope, p Probe, limit int) ([]Match, error) {
	if !scope.Acts() || limit <= 0 {
		return nil, nil
	}
	probe := RecordOf(p)
	exact, names, err := e.look(ctx, probe)
	if err != nil {
		return nil, err
	}
	rows, err := e.found(ctx, scope, exact, names)
	if err != nil {
		return nil, err
	}
	return matches(probe, p.Exclude, rows, limit), nil
}

// matches scores rows against probe, leaving out the company exclude and
// rows that share nothing with it: the best first, at most limit. A row
// the scope does not see (loaded.visible) keeps only its id, name,
// responsible and reasons.
func matches(probe Record, exclude int64, rows []loaded, limit int) []Match {
	var out []Match
	for _, row := range rows {
		if row.rec.ID == exclude {
			continue
		}
		score, reasons := Score(probe, row.rec)
		if score == 0 {
			continue
		}
		m := Match{ID: row.rec.ID, Name: row.name, INN: row.rec.INN, KPP: row.rec.KPP,
			Address: row.address, ResponsibleName: row.responsible, Score: score, Reasons: reasons,
			Blocking: Blocking(probe, row.rec), Accessible: row.visible}
		if !m.Accessible {
			m.INN, m.KPP, m.Address = "", "", ""
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Match) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Records returns the normalised keys of the live companies among ids, in
// the order of ids, for the bulk scan to score with Score.
func (e *Engine) Records(ctx context.Context, ids []int64) ([]Record, error) {
	rows, err := e.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]Record, len(rows))
	for _, r := range rows {
		byID[r.rec.ID] = r.rec
	}
	out := make([]Record, 0, len(rows))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Candidates returns the ids of the live companies that share a key with
// r or have a similar name — what Find scores — for the bulk scan, which
// holds Records rather than what was typed. r.ID itself may be among them.
func (e *Engine) Candidates(ctx context.Context, r Record) ([]int64, error) {
	return e.candidates(ctx, r)
}

// candidates collects the ids of companies that share a key with probe,
// each signal through its index.
func (e *Engine) candidates(ctx context.Context, probe Record) ([]int64, error) {
	query, args := exactQuery(e.db.Dialect, probe)
	seen := map[int64]bool{}
	var ids []int64
	if query != "" {
		err := e.each(ctx, query, args, func(rows *sql.Rows) error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("duplicate candidates: %w", err)
		}
	}
	similar, err := e.similarNames(ctx, probe.NameNorm)
	if err != nil {
		return nil, err
	}
	for _, id := range similar {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// exactQuery is the union of the index look-ups of the signals that
// match a key exactly (ИНН, ОГРН, name, website domain, phones, e-mails),
// each bounded; "" when the probe has none of those keys. The phones and
// the e-mails are one list argument each, so that the text depends only
// on which keys the probe has.
func exactQuery(d database.Dialect, probe Record) (string, []any) {
	var w database.Where
	return exactParts(d, &w, probe), w.Args()
}

// exactParts is exactQuery's text, its arguments added to w.
func exactParts(d database.Dialect, w *database.Where, probe Record) string {
	var parts []string
	limit := strconv.Itoa(perSignal)
	// one adds a part "columns FROM table WHERE …" written with "?"
	// placeholders; the id column is named id in every part so the union
	// reads one column.
	add := func(inner *database.Where) {
		parts = append(parts, `SELECT id FROM (SELECT `+strings.TrimPrefix(w.Adopt(inner), " WHERE ")+` LIMIT `+limit+`) s`+strconv.Itoa(len(parts)))
	}
	one := func(sql string, args ...any) {
		var inner database.Where
		inner.Add(sql, args...)
		add(&inner)
	}
	if probe.INN != "" {
		one("id FROM companies WHERE inn = ? AND inn <> '' AND deleted_at IS NULL", probe.INN)
	}
	if probe.OGRN != "" {
		one("id FROM companies WHERE ogrn = ? AND ogrn <> '' AND deleted_at IS NULL", probe.OGRN)
	}
	if probe.NameNorm != "" {
		one("id FROM companies WHERE name_norm = ? AND deleted_at IS NULL", probe.NameNorm)
	}
	if probe.Domain != "" {
		one("id FROM companies WHERE website_domain = ? AND website_domain <> '' AND deleted_at IS NULL", probe.Domain)
	}
	if len(probe.Phones) > 0 {
		var inner database.Where
		inner.Add("company_id AS id FROM company_phones WHERE e164" + d.InTexts(&inner, probe.Phones) + " AND e164 <> ''")
		add(&inner)
	}
	if len(probe.Emails) > 0 {
		var inner database.Where
		inner.Add("company_id AS id FROM company_emails WHERE value_norm" + d.InTexts(&inner, probe.Emails) + " AND value_norm <> ''")
		add(&inner)
	}
	return strings.Join(parts, " UNION ")
}

// similarNames returns the ids of live companies whose name_norm has a
// trigram similarity of at least SimilarName with norm, most similar
// first, at most perSignal.
func (e *Engine) similarNames(ctx context.Context, norm string) ([]int64, error) {
	if norm == "" {
		return nil, nil
	}
	// A company name is at most 255 characters; a longer probe (a hostile
	// one) would only make the trigram queries longer.
	if r := []rune(norm); len(r) > maxNameRunes {
		norm = strings.TrimSpace(string(r[:maxNameRunes]))
	}
	return e.similarTrigrams(ctx, norm)
}

// maxNameRunes is the longest company name (see company.NewCompany).
const maxNameRunes = 255

// The similar-name search bounds: how far a trigram's posting list
// is counted to rank it, how much of one list is read, and how many
// candidates are verified.
const (
	trigramCountCap = 500
	trigramListCap  = 2000
	trigramVerify   = 200
)

// similarTrigrams finds similar names on both databases through the
// distinct names of company_names and their trigram posting table
// name_trigrams, with pg_trgm's definition of similarity but a bounded
// amount of work. (pg_trgm's GIN index on companies was tried first on
// PostgreSQL: on the demo base of a million companies, where one name
// repeats hundreds of times and its words thousands, a misspelt name made
// the index return 30 000 rows to recheck in the heap — 1.2–2.9 s a
// check. Posting lists over companies, the next try, held each shared
// name hundreds of times, so a capped list saw a handful of names.)
//
// A name b is similar to the probe a (n distinct trigrams) when
// common/(n+m−common) ≥ θ, which needs m, b's number of trigrams, within
// [θn, n/θ] (length filter: the ntri column of the index) and common ≥
// k = ⌈θn⌉; so among any r of a's trigrams b has at least k−(n−r) (prefix
// filter). The r rarest lists are read, r = n−k+1 plus up to two more so
// that a candidate needs two or three hits and the names that share one
// common trigram fall away; the names with enough hits, most hits first,
// are verified with Similarity, as pg_trgm would compute it, and the live
// companies of the most similar names, at most perSignal, are the answer.
//
// Each list is read to trigramListCap names: a trigram shared by more
// names is then counted short and a few of its names may be missed. The
// bounds keep a check on every typing pause within a few milliseconds at
// a million companies.
func (e *Engine) similarTrigrams(ctx context.Context, norm string) ([]int64, error) {
	grams := Trigrams(norm)
	n := len(grams)
	if n == 0 {
		return nil, nil
	}
	lo, hi, r, need := similarBounds(n)

	// Rank the trigrams by how many names of a fitting length have them.
	rank, rankArgs := trigramRankQuery(e.db.Dialect, grams, lo, hi)
	counts := make([]int, n)
	err := e.each(ctx, rank, rankArgs, func(rows *sql.Rows) error {
		var i, c int
		if err := rows.Scan(&i, &c); err != nil {
			return err
		}
		counts[i] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("similar names: %w", err)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(counts[a], counts[b]) })

	// The r rarest lists, each capped, their hits counted per name.
	var rare []string
	for _, i := range order[:r] {
		if counts[i] > 0 { // an empty list: nobody has it
			rare = append(rare, grams[i])
		}
	}
	if len(rare) < need {
		return nil, nil
	}
	lists, listArgs := trigramListsQuery(e.db.Dialect, rare, lo, hi, need)
	var cands []int64
	err = e.each(ctx, lists, listArgs, func(rows *sql.Rows) error {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		cands = append(cands, id)
		return nil
	})
	if err != nil || len(cands) == 0 {
		return nil, err
	}

	// Verify: the exact similarity of each candidate name.
	type hit struct {
		name string
		sim  float64
	}
	var hits []hit
	verify, verifyArgs := verifyQuery(e.db.Dialect, cands)
	err = e.each(ctx, verify, verifyArgs, func(rows *sql.Rows) error {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if sim := Similarity(norm, name); sim >= SimilarName {
			hits = append(hits, hit{name, sim})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("similar names: %w", err)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.sim, a.sim); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})

	// The live companies of the most similar names, a batch of names at a
	// time, until perSignal are found: a name shared by hundreds of
	// companies fills the answer from one index range, and a name no live
	// company has any more (renamed, deleted) gives nothing.
	ids := make([]int64, 0, perSignal)
	for from := 0; from < len(hits) && len(ids) < perSignal; from += namesPerBatch {
		batch := make([]string, 0, namesPerBatch)
		for _, h := range hits[from:min(len(hits), from+namesPerBatch)] {
			batch = append(batch, h.name)
		}
		q, args := companiesByNameQuery(e.db.Dialect, batch, perSignal-len(ids))
		err = e.each(ctx, q, args, func(rows *sql.Rows) error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if len(ids) < perSignal {
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("similar names: %w", err)
		}
	}
	return ids, nil
}

// similarBounds are the bounds of the similar-name search for a probe of
// n distinct trigrams (see similarTrigrams): a similar name has lo to hi
// trigrams, the r rarest of the probe's lists are read, and a name needs
// need hits among them.
func similarBounds(n int) (lo, hi, r, need int) {
	k := max(1, int(math.Ceil(SimilarName*float64(n)-1e-9)))
	extra := min(2, k-1)
	return k, int(math.Floor(float64(n)/SimilarName + 1e-9)), n - k + 1 + extra, 1 + extra
}

// look runs lookQuery: the ids of the companies that share an exact key
// with probe, and the names similar to its name (pg_trgm's similarity at
// least SimilarName), most similar first.
func (e *Engine) look(ctx context.Context, probe Record) (exact []int64, names []string, err error) {
	norm := probe.NameNorm
	if r := []rune(norm); len(r) > maxNameRunes {
		norm = strings.TrimSpace(string(r[:maxNameRunes]))
	}
	query, args := lookQuery(e.db.Dialect, probe, Trigrams(norm))
	if query == "" {
		return nil, nil, nil
	}
	type hit struct {
		name string
		sim  float64
	}
	var hits []hit
	err = e.each(ctx, query, args, func(rows *sql.Rows) error {
		var (
			kind int
			id   int64
			name string
		)
		if err := rows.Scan(&kind, &id, &name); err != nil {
			return err
		}
		if kind == 0 {
			exact = append(exact, id)
		} else if sim := Similarity(norm, name); sim >= SimilarName {
			hits = append(hits, hit{name, sim})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("duplicate candidates: %w", err)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.sim, a.sim); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	names = make([]string, len(hits))
	for i, h := range hits {
		names[i] = h.name
	}
	return exact, names, nil
}

// lookQuery is the first statement of Find: exactQuery's look-ups
// (rows 0, id) and, for a probe with trigrams grams, the candidate names
// of the similar-name search (rows 1, name) — the ranking of the trigrams,
// the rarest lists and the names with enough hits that similarTrigrams
// sends as three statements, here one: the rarest r trigrams are those
// first by (count, position), as its stable sort orders them. "" when
// the probe has neither.
func lookQuery(d database.Dialect, probe Record, grams []string) (string, []any) {
	var w database.Where
	exact := exactParts(d, &w, probe)
	var parts []string
	if exact != "" {
		parts = append(parts, `SELECT 0, id, '' FROM (`+exact+`) ex`)
	}
	with := ""
	if len(grams) > 0 {
		lo, hi, r, need := similarBounds(len(grams))
		los, his := w.Arg(lo), w.Arg(hi)
		list := func(t string, limit int) string {
			return `SELECT name_id FROM name_trigrams WHERE trigram = ` + t + ` AND ntri BETWEEN ` + los + ` AND ` + his +
				` LIMIT ` + strconv.Itoa(limit)
		}
		var ranked, hits string
		if d == database.Postgres {
			ranked = `SELECT g.t, g.i, (SELECT COUNT(*) FROM (` + list("g.t", trigramCountCap) + `) x) AS n
				FROM unnest(` + w.Arg(grams) + `::text[]) WITH ORDINALITY AS g (t, i)`
			hits = `SELECT name_id FROM rare CROSS JOIN LATERAL (` + list("rare.t", trigramListCap) + `) h GROUP BY name_id`
		} else {
			ranked = `SELECT g.value AS t, g.key AS i, (SELECT COUNT(*) FROM (` + list("g.value", trigramCountCap) + `) x) AS n
				FROM json_each(` + w.Arg(database.JSONArray(grams)) + `) AS g`
			hits = `SELECT h.value AS name_id FROM rare, json_each((SELECT json_group_array(name_id) FROM (` + list("rare.t", trigramListCap) + `))) AS h
				GROUP BY h.value`
		}
		with = `WITH ranked AS (` + ranked + `),
			rare AS (SELECT t FROM (SELECT t, n, row_number() OVER (ORDER BY n, i) AS o FROM ranked) r WHERE o <= ` + w.Arg(r) + ` AND n > 0),
			hits AS (` + hits + ` HAVING COUNT(*) >= ` + w.Arg(need) + ` ORDER BY COUNT(*) DESC, name_id LIMIT ` + strconv.Itoa(trigramVerify) + `) `
		parts = append(parts, `SELECT 1, 0, name_norm FROM company_names WHERE id IN (SELECT name_id FROM hits)`)
	}
	if len(parts) == 0 {
		return "", nil
	}
	return with + strings.Join(parts, " UNION ALL "), w.Args()
}

// found runs foundQuery: the live companies of names (at most perSignal,
// by the order of names) and of ids, with whether scope sees each.
func (e *Engine) found(ctx context.Context, scope access.Scope, ids []int64, names []string) ([]loaded, error) {
	if len(ids) == 0 && len(names) == 0 {
		return nil, nil
	}
	query, args := foundQuery(e.db.Dialect, scope, ids, names)
	var out []loaded
	err := e.each(ctx, query, args, func(rows *sql.Rows) error {
		var (
			l                     loaded
			username, first, last string
			visible               int
			phones, emails        []byte
		)
		if err := rows.Scan(&l.rec.ID, &l.name, &l.rec.NameNorm, &l.rec.INN, &l.rec.KPP, &l.rec.OGRN, &l.address,
			&l.rec.Domain, &username, &first, &last, &visible, &phones, &emails); err != nil {
			return err
		}
		if err := json.Unmarshal(phones, &l.rec.Phones); err != nil {
			return err
		}
		if err := json.Unmarshal(emails, &l.rec.Emails); err != nil {
			return err
		}
		l.fill(username, first, last)
		l.visible = visible == 1
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("duplicate candidates: %w", err)
	}
	return out, nil
}

// foundQuery is the second statement of Find: what load reads of the
// live companies of names and of ids, their phones and e-mails as JSON
// arrays, and whether scope sees each (access.Scope.Restrict's rule as a
// column, 1 or 0): a match the scope may not see shows only its id,
// name, responsible and reasons.
//
// The companies of names are those similarTrigrams' batches would take:
// the first perSignal in the order of names, then of id. A recursive walk
// counts each name's live companies (capped at perSignal) in order and
// stops at the name that brings the total to perSignal, so a name shared
// by hundreds of companies ends it at once and two hundred names of one
// company each are read without a statement per batch; only the names
// walked are read for their companies. On PostgreSQL each step keeps the
// ids it counted (an array), so every name's range of companies_name_idx
// is read once; SQLite counts them and reads them again (it has no
// arrays, and its reads are calls in the process).
func foundQuery(d database.Dialect, scope access.Scope, ids []int64, names []string) (string, []any) {
	var w database.Where
	limit := strconv.Itoa(perSignal)
	var walk, agg, idList, named string
	if d == database.Postgres {
		list := w.Arg(names) + `::text[]`
		walk = `walk (k, total, ids) AS (SELECT 0, 0, CAST('{}' AS BIGINT[])
			UNION ALL SELECT w.k + 1, w.total + cardinality(s.ids), s.ids FROM walk w CROSS JOIN LATERAL (SELECT ARRAY(SELECT id
				FROM companies WHERE name_norm = (` + list + `)[w.k + 1] AND deleted_at IS NULL ORDER BY name_norm, id LIMIT ` + limit + `) AS ids OFFSET 0) s
			WHERE w.total < ` + limit + ` AND w.k < cardinality(` + list + `))`
		named = `SELECT c.id FROM walk w CROSS JOIN LATERAL unnest(w.ids) AS c (id) ORDER BY w.k, c.id LIMIT ` + limit
		agg = `COALESCE(json_agg(%s), '[]')`
		if ids == nil {
			ids = []int64{}
		}
		// "x > 0" (ids are) is there for the planner: it guesses ten
		// elements for an array parameter's unnest and fewer for the
		// values of a call, so the generic plan — the same plan — looked
		// dearer and the statement was planned afresh on every call
		// (1 ms of PostgreSQL's time on a PATCH of the load test). A third
		// of ten for the filter brings the guess under the calls', and
		// after five calls the statement runs on its generic plan.
		idList = `SELECT x FROM unnest(` + w.Arg(ids) + `::bigint[]) AS u (x) WHERE x > 0`
	} else {
		list := w.Arg(database.JSONArray(names))
		walk = `walk (k, total) AS (SELECT 0, CAST(0 AS BIGINT)
			UNION ALL SELECT k + 1, total + (SELECT COUNT(*) FROM (SELECT 1 FROM companies WHERE name_norm = json_extract(` + list + `, '$[' || k || ']')
				AND deleted_at IS NULL LIMIT ` + limit + `) x) FROM walk WHERE total < ` + limit + ` AND k < json_array_length(` + list + `))`
		named = `SELECT c.value AS id FROM walk w, json_each((SELECT json_group_array(id) FROM (SELECT id FROM companies
			WHERE name_norm = json_extract(` + list + `, '$[' || (w.k - 1) || ']') AND deleted_at IS NULL ORDER BY name_norm, id LIMIT ` + limit + `))) AS c
			WHERE w.k > 0 ORDER BY w.k, c.value LIMIT ` + limit
		agg = `json_group_array(%s)`
		idList = `SELECT value FROM json_each(` + w.Arg(database.IDsJSON(ids)) + `)`
	}
	var vis database.Where
	scope.Restrict(&vis, "c")
	visible := "1"
	if cond := strings.TrimPrefix(w.Adopt(&vis), " WHERE "); cond != "" {
		visible = `CASE WHEN ` + cond + ` THEN 1 ELSE 0 END`
	}
	return `WITH RECURSIVE ` + walk + `,
		named AS MATERIALIZED (` + named + `)
		SELECT c.id, c.name, c.name_norm, c.inn, c.kpp, c.ogrn, c.address, c.website_domain,
		COALESCE(u.username, ''), COALESCE(u.first_name, ''), COALESCE(u.last_name, ''), ` + visible + `,
		(SELECT ` + fmt.Sprintf(agg, "e164") + ` FROM company_phones WHERE company_id = c.id AND e164 <> ''),
		(SELECT ` + fmt.Sprintf(agg, "value_norm") + ` FROM company_emails WHERE company_id = c.id AND value_norm <> '')
		FROM companies c LEFT JOIN users u ON u.id = c.responsible_id
		WHERE c.id IN (SELECT id FROM named UNION ` + idList + `) AND c.deleted_at IS NULL ORDER BY c.id`, w.Args()
}

// namesPerBatch is how many similar names one query turns into companies.
const namesPerBatch = 10

// The four queries of the similar-name search are written per dialect,
// each one text whatever the name: the trigrams and names are one list
// argument, an array on PostgreSQL, a JSON array read by json_each on
// SQLite. With a part per trigram every name length was another
// statement: PostgreSQL planned it afresh on each call (2.4 ms of planning
// for the ranking alone on a PATCH of the load test, four times its
// execution), SQLite compiled it afresh (its compiler took 13 % of the
// server's CPU under that load; issue 6). One text is prepared once per
// connection and, on PostgreSQL after five calls, runs on a generic plan,
// which here is the same range of an index for any value (plan_test.go
// checks the indexes). SQLite has no LATERAL: a correlated subquery reads
// each trigram's or name's capped range, for a list as json_group_array
// turned back into rows by json_each. The caps are written into the text:
// SQLite recompiles a statement whose LIMIT is a bound value that changed.

// trigramRankQuery counts, capped, the names having each trigram within
// the length range: one row (index, count) per trigram.
func trigramRankQuery(d database.Dialect, grams []string, lo, hi int) (string, []any) {
	if d == database.Postgres {
		return `SELECT g.i - 1, (SELECT COUNT(*) FROM (SELECT 1 FROM name_trigrams WHERE trigram = g.t AND ntri BETWEEN $2 AND $3
			LIMIT ` + strconv.Itoa(trigramCountCap) + `) x) FROM unnest($1::text[]) WITH ORDINALITY AS g (t, i)`, []any{grams, lo, hi}
	}
	return `SELECT g.key, (SELECT COUNT(*) FROM (SELECT 1 FROM name_trigrams WHERE trigram = g.value AND ntri BETWEEN $2 AND $3
		LIMIT ` + strconv.Itoa(trigramCountCap) + `) x) FROM json_each($1) AS g`, []any{database.JSONArray(grams), lo, hi}
}

// trigramListsQuery reads the capped posting lists of grams within the
// length range and returns the names with at least need hits, most hits
// first.
func trigramListsQuery(d database.Dialect, grams []string, lo, hi, need int) (string, []any) {
	tail := ` GROUP BY name_id HAVING COUNT(*) >= $4 ORDER BY COUNT(*) DESC, name_id LIMIT ` + strconv.Itoa(trigramVerify)
	if d == database.Postgres {
		return `SELECT name_id FROM unnest($1::text[]) AS g (t) CROSS JOIN LATERAL (SELECT name_id FROM name_trigrams
			WHERE trigram = g.t AND ntri BETWEEN $2 AND $3 LIMIT ` + strconv.Itoa(trigramListCap) + `) hits` + tail, []any{grams, lo, hi, need}
	}
	return `SELECT hits.value AS name_id FROM json_each($1) AS g, json_each((SELECT json_group_array(name_id) FROM (SELECT name_id
		FROM name_trigrams WHERE trigram = g.value AND ntri BETWEEN $2 AND $3 LIMIT ` + strconv.Itoa(trigramListCap) + `))) AS hits` + tail,
		[]any{database.JSONArray(grams), lo, hi, need}
}

// verifyQuery reads the candidate names.
func verifyQuery(d database.Dialect, ids []int64) (string, []any) {
	var w database.Where
	return `SELECT name_norm FROM company_names WHERE id` + d.InIDs(&w, ids), w.Args()
}

// companiesByNameQuery reads the live companies of names, in the order of
// names and then of id, at most limit of each name (each one range of
// companies_name_idx). On SQLite each name reads perSignal, whatever
// limit: the caller keeps the first limit.
func companiesByNameQuery(d database.Dialect, names []string, limit int) (string, []any) {
	if d == database.Postgres {
		return `SELECT c.id FROM unnest($1::text[]) WITH ORDINALITY AS g (name, k) CROSS JOIN LATERAL (SELECT id FROM companies
			WHERE name_norm = g.name AND deleted_at IS NULL ORDER BY name_norm, id LIMIT $2) c ORDER BY g.k, c.id`, []any{names, limit}
	}
	return `SELECT c.value FROM json_each($1) AS g, json_each((SELECT json_group_array(id) FROM (SELECT id FROM companies
		WHERE name_norm = g.value AND deleted_at IS NULL ORDER BY name_norm, id LIMIT ` + strconv.Itoa(perSignal) + `))) AS c
		ORDER BY g.key, c.value`, []any{database.JSONArray(names)}
}

// each runs a query and calls fn for every row.
func (e *Engine) each(ctx context.Context, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := e.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	return eachRow(rows, func() error { return fn(rows) })
}

// loaded is a candidate's record and what a Match shows of it.
type loaded struct {
	rec                        Record
	name, address, responsible string
	visible                    bool // the scope sees it (foundQuery; load leaves it false)
}

// fill sets the derived keys of a row just read: the address key and
// the responsible's name.
func (l *loaded) fill(username, first, last string) {
	l.rec.AddressNorm = dedup.AddressKey(l.address)
	if n := strings.TrimSpace(first + " " + last); n != "" {
		l.responsible = n
	} else {
		l.responsible = username
	}
}

// load reads the live companies among ids with their phones and e-mails,
// in two queries whatever the number of ids.
func (e *Engine) load(ctx context.Context, ids []int64) ([]loaded, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var w database.Where
	w.Add("c.id" + e.db.Dialect.InIDs(&w, ids))
	w.Add("c.deleted_at IS NULL")
	rows, err := e.db.QueryContext(ctx, `SELECT c.id, c.name, c.name_norm, c.inn, c.kpp, c.ogrn, c.address, c.website_domain,
		COALESCE(u.username, ''), COALESCE(u.first_name, ''), COALESCE(u.last_name, '')
		FROM companies c LEFT JOIN users u ON u.id = c.responsible_id`+w.SQL()+` ORDER BY c.id`, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("duplicate candidates: %w", err)
	}
	var out []loaded
	byID := map[int64]int{}
	err = eachRow(rows, func() error {
		var (
			l                     loaded
			username, first, last string
		)
		if err := rows.Scan(&l.rec.ID, &l.name, &l.rec.NameNorm, &l.rec.INN, &l.rec.KPP, &l.rec.OGRN, &l.address,
			&l.rec.Domain, &username, &first, &last); err != nil {
			return err
		}
		l.fill(username, first, last)
		byID[l.rec.ID] = len(out)
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("duplicate candidates: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	live := make([]int64, len(out))
	for i, l := range out {
		live[i] = l.rec.ID
	}
	var c database.Where
	rows, err = e.db.QueryContext(ctx, `SELECT 1, company_id, e164 FROM company_phones WHERE company_id`+e.db.Dialect.InIDs(&c, live)+` AND e164 <> ''
		UNION ALL SELECT 2, company_id, value_norm FROM company_emails WHERE company_id`+e.db.Dialect.InIDs(&c, live)+` AND value_norm <> ''`, c.Args()...)
	if err != nil {
		return nil, fmt.Errorf("duplicate candidates: %w", err)
	}
	err = eachRow(rows, func() error {
		var (
			kind int
			id   int64
			v    string
		)
		if err := rows.Scan(&kind, &id, &v); err != nil {
			return err
		}
		r := &out[byID[id]].rec
		if kind == 1 {
			r.Phones = append(r.Phones, v)
		} else {
			r.Emails = append(r.Emails, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("duplicate candidates: %w", err)
	}
	return out, nil
}

func eachRow(rows *sql.Rows, fn func() error) error {
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}
