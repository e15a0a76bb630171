package duplicate

import (
	"cmp"
	"context"
	"database/sql"
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
func (e *Engine) Find(ctx context.Context, scope access.Scope, p Probe, limit int) ([]Match, error) {
	if !scope.Acts() || limit <= 0 {
		return nil, nil
	}
	probe := RecordOf(p)
	ids, err := e.candidates(ctx, probe)
	if err != nil {
		return nil, err
	}
	rows, err := e.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []Match
	for _, row := range rows {
		if row.rec.ID == p.Exclude {
			continue
		}
		score, reasons := Score(probe, row.rec)
		if score == 0 {
			continue
		}
		out = append(out, Match{ID: row.rec.ID, Name: row.name, INN: row.rec.INN, KPP: row.rec.KPP,
			Address: row.address, ResponsibleName: row.responsible, Score: score, Reasons: reasons,
			Blocking: Blocking(probe, row.rec)})
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
	return out, e.hide(ctx, scope, out)
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

// hide strips from the matches the scope may not see everything but the
// id, the name, the responsible and the reasons (whose details never
// quote the other company's values). Visibility is access.Scope.Restrict's
// rule, asked of the database for exactly these ids.
func (e *Engine) hide(ctx context.Context, scope access.Scope, list []Match) error {
	if len(list) == 0 {
		return nil
	}
	visible := map[int64]bool{}
	if scope.SeesAll() {
		for _, m := range list {
			visible[m.ID] = true
		}
	} else {
		ids := make([]any, len(list))
		for i, m := range list {
			ids[i] = m.ID
		}
		var w database.Where
		w.Add("c.id IN " + w.In(ids...))
		scope.Restrict(&w, "c")
		rows, err := e.db.QueryContext(ctx, `SELECT c.id FROM companies c`+w.SQL(), w.Args()...)
		if err != nil {
			return fmt.Errorf("duplicate visibility: %w", err)
		}
		err = eachRow(rows, func() error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			visible[id] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("duplicate visibility: %w", err)
		}
	}
	for i := range list {
		m := &list[i]
		m.Accessible = visible[m.ID]
		if !m.Accessible {
			m.INN, m.KPP, m.Address = "", "", ""
		}
	}
	return nil
}

// candidates collects the ids of companies that share a key with probe,
// each signal through its index.
func (e *Engine) candidates(ctx context.Context, probe Record) ([]int64, error) {
	var (
		w     database.Where
		parts []string
	)
	limit := strconv.Itoa(perSignal)
	// one adds a part "columns FROM table WHERE …" written with "?"
	// placeholders; the id column is named id in every part so the union
	// reads one column.
	one := func(sql string, args ...any) {
		var inner database.Where
		inner.Add(sql, args...)
		parts = append(parts, `SELECT id FROM (SELECT `+strings.TrimPrefix(w.Adopt(&inner), " WHERE ")+` LIMIT `+limit+`) s`+strconv.Itoa(len(parts)))
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
		one("company_id AS id FROM company_phones WHERE e164 IN "+marks(len(probe.Phones))+" AND e164 <> ''", strs(probe.Phones)...)
	}
	if len(probe.Emails) > 0 {
		one("company_id AS id FROM company_emails WHERE value_norm IN "+marks(len(probe.Emails))+" AND value_norm <> ''", strs(probe.Emails)...)
	}
	seen := map[int64]bool{}
	var ids []int64
	if len(parts) > 0 {
		rows, err := e.db.QueryContext(ctx, strings.Join(parts, " UNION "), w.Args()...)
		if err != nil {
			return nil, fmt.Errorf("duplicate candidates: %w", err)
		}
		err = eachRow(rows, func() error {
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

// similarNames returns the ids of live companies whose name_norm has a
// trigram similarity of at least SimilarName with norm, most similar
// first, at most perSignal.
func (e *Engine) similarNames(ctx context.Context, norm string) ([]int64, error) {
	if norm == "" {
		return nil, nil
	}
	if e.db.Dialect == database.Postgres {
		return e.similarPostgres(ctx, norm)
	}
	return e.similarSQLite(ctx, norm)
}

// similarPostgres asks pg_trgm's GIN index (companies_name_trgm_idx) with
// the % operator, its threshold set for this transaction only.
func (e *Engine) similarPostgres(ctx context.Context, norm string) ([]int64, error) {
	var ids []int64
	err := e.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT set_config('pg_trgm.similarity_threshold', $1, true)`,
			strconv.FormatFloat(SimilarName, 'f', -1, 64)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM companies WHERE deleted_at IS NULL AND name_norm % $1
			ORDER BY similarity(name_norm, $1) DESC, id LIMIT `+strconv.Itoa(perSignal), norm)
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("similar names: %w", err)
	}
	return ids, nil
}

// The SQLite similar-name search bounds: how far a trigram's posting list
// is counted to rank it, and how many candidates the rare lists may bring.
const (
	trigramCountCap = 1000
	trigramCandCap  = 3000
)

// similarSQLite is the indexed equivalent of pg_trgm on SQLite, over the
// company_trigrams posting table. A name b is similar to the probe a
// (n trigrams) when common/(n+m−common) ≥ θ, which needs m, b's number of
// trigrams, within [θn, n/θ] (length filter) and common ≥ k = ⌈θn⌉; so b
// has at least one of any n−k+1 trigrams of a (prefix filter). The rarest
// n−k+1 are chosen by their capped list lengths, their postings within
// the length range give the candidates, and the candidates' shared
// trigrams are counted through company_trigrams_company_idx. The exact
// similarity is then computed here, as pg_trgm would.
func (e *Engine) similarSQLite(ctx context.Context, norm string) ([]int64, error) {
	grams := Trigrams(norm)
	n := len(grams)
	if n == 0 {
		return nil, nil
	}
	k := max(1, int(math.Ceil(SimilarName*float64(n)-1e-9)))
	lo, hi := k, int(math.Floor(float64(n)/SimilarName+1e-9))

	// Rank the trigrams by how many names of a fitting length have them.
	var w database.Where
	var parts []string
	for i, g := range grams {
		parts = append(parts, `SELECT `+strconv.Itoa(i)+`, (SELECT COUNT(*) FROM (SELECT 1 FROM company_trigrams WHERE trigram = `+
			w.Arg(g)+` AND ntri BETWEEN `+w.Arg(lo)+` AND `+w.Arg(hi)+` LIMIT `+strconv.Itoa(trigramCountCap)+`) x)`)
	}
	rows, err := e.db.QueryContext(ctx, strings.Join(parts, " UNION ALL "), w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("similar names: %w", err)
	}
	counts := make([]int, n)
	err = eachRow(rows, func() error {
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
	var rare []any
	for _, i := range order[:n-k+1] {
		if counts[i] > 0 {
			rare = append(rare, grams[i])
		}
	}
	if len(rare) == 0 {
		return nil, nil
	}

	var q database.Where
	cand := `WITH cand AS (SELECT DISTINCT company_id FROM company_trigrams WHERE trigram IN ` + q.In(rare...) +
		` AND ntri BETWEEN ` + q.Arg(lo) + ` AND ` + q.Arg(hi) + ` LIMIT ` + strconv.Itoa(trigramCandCap) + `)
		SELECT t.company_id, MAX(t.ntri), COUNT(*) FROM cand JOIN company_trigrams t ON t.company_id = cand.company_id
		AND t.trigram IN ` + q.In(strs(grams)...) + ` GROUP BY t.company_id HAVING COUNT(*) >= ` + q.Arg(k)
	rows, err = e.db.QueryContext(ctx, cand, q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("similar names: %w", err)
	}
	type hit struct {
		id  int64
		sim float64
	}
	var hits []hit
	err = eachRow(rows, func() error {
		var (
			id   int64
			m, c int
		)
		if err := rows.Scan(&id, &m, &c); err != nil {
			return err
		}
		if sim := float64(c) / float64(n+m-c); sim >= SimilarName {
			hits = append(hits, hit{id, sim})
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
		return cmp.Compare(a.id, b.id)
	})
	ids := make([]int64, 0, min(len(hits), perSignal))
	for _, h := range hits[:min(len(hits), perSignal)] {
		ids = append(ids, h.id)
	}
	// Deleted companies keep their trigrams; load drops them.
	return ids, nil
}

// loaded is a candidate's record and what a Match shows of it.
type loaded struct {
	rec                        Record
	name, address, responsible string
}

// load reads the live companies among ids with their phones and e-mails,
// in two queries whatever the number of ids.
func (e *Engine) load(ctx context.Context, ids []int64) ([]loaded, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var w database.Where
	w.Add("c.id IN " + w.In(database.IDs(ids)...))
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
		l.rec.AddressNorm = dedup.AddressKey(l.address)
		if n := strings.TrimSpace(first + " " + last); n != "" {
			l.responsible = n
		} else {
			l.responsible = username
		}
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
	live := make([]any, len(out))
	for i, l := range out {
		live[i] = l.rec.ID
	}
	var c database.Where
	rows, err = e.db.QueryContext(ctx, `SELECT 1, company_id, e164 FROM company_phones WHERE company_id IN `+c.In(live...)+` AND e164 <> ''
		UNION ALL SELECT 2, company_id, value_norm FROM company_emails WHERE company_id IN `+c.In(live...)+` AND value_norm <> ''`, c.Args()...)
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

// marks is "(?, ?, …)" with n marks, for an IN list written with "?".
func marks(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func strs(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
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
