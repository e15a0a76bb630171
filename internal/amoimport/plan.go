package amoimport

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// PlanOptions are the choices of the person who runs the import.
type PlanOptions struct {
	// Fallback is the CRM user who gets the records whose «Ответственный»
	// is empty or matches no active user: the importing admin, or a user
	// chosen on the page.
	Fallback int64
	// Fresh says the import's rows were just staged and never planned
	// (Run stages them anew each time): there is no earlier plan to take
	// back, and reset's pass over every row is skipped.
	Fresh bool
}

// How a row joined the other rows of its company or contact, and how an
// entity was found in the base; the smaller, the stronger.
const (
	joinNone uint8 = iota
	joinAmo
	joinINN
	joinName
	// joinBase: the row's entity and another of the file are one company
	// (or contact) of the base — e.g. two amoCRM records a user merged in
	// the CRM after an earlier import.
	joinBase
)

// Row flags, in the row's state byte above its kind and join.
const (
	// flagNameAmbiguous: the row's name and address are those of
	// companies with different ИНН, so it joined none of them.
	flagNameAmbiguous uint8 = 1 << (iota + 5)
	// flagBaseAmbiguous: the entity's name and address match more than
	// one company of the base.
	flagBaseAmbiguous
	// flagBaseConflict: the entity's rows point at different companies of
	// the base; the strongest match won.
	flagBaseConflict
)

// planner holds what Plan knows of the staged rows between its passes:
// a few bytes per row in flat arrays indexed by the row's number (9
// bytes a row while grouping runs, 5 until the entities are final, 1 for
// decide; 9 more once an entity matched the base), never the rows
// themselves, which are read back from import_rows one sorted stream or
// one page of entities at a time.
type planner struct {
	ctx      context.Context
	tx       *sql.Tx
	db       *database.DB
	importID int64
	opt      PlanOptions
	users    *Matcher
	fallback string // the fallback user's name, for the reasons

	n int32 // the highest number of a row of the file
	// state is the row's kind (bits 0–1: kindCompany, kindContact or
	// kindNone), how it joined its entity (bits 2–4, joinNone…joinBase)
	// and its flags (bits 5–7): one byte a row, not three (2 MB less at
	// a million rows while grouping, with the Go heap's headroom 4).
	state  []uint8
	parent []int32 // union-find: rows of one entity share a root, its lowest number
	// inn is, while the ИНН pass runs, the row's ИНН numbered in sorted
	// order (0 none); after it, per root, the entity's (-1 when it has
	// two): one array, rewritten in place, not two (4 bytes a row less
	// at the plan's peak, 4 MB at a million rows).
	inn     []int32
	base    []int64 // per root: the company or contact of the base it is; nil until one is found
	baseHow []uint8 // per root: how base was found

	tally *tally // the decisions written so far
	// matched memoises users.Match by display name (matchCache).
	matched map[string]int64
}

// matchCacheMax bounds planner.matched: a file names a few hundred
// «Ответственные» in all their spellings, each on thousands of rows, and
// matching one folds and splits it again each time (0.3 s of CPU for the
// two names of 100,000 rows). A file of a million distinct names keeps
// the memo at this size and matches the rest as before.
const matchCacheMax = 4096

// match is p.users.Match, memoised.
func (p *planner) match(display string) int64 {
	if id, ok := p.matched[display]; ok {
		return id
	}
	id := p.users.Match(display)
	if p.matched == nil {
		p.matched = map[string]int64{}
	}
	if len(p.matched) < matchCacheMax {
		p.matched[display] = id
	}
	return id
}

const (
	kindNone uint8 = iota
	kindCompany
	kindContact
)

// The fields of a row's state byte.
const (
	kindMask  uint8 = 3
	joinShift       = 2
	joinMask  uint8 = 7 << joinShift
)

// kindOf is row i's kind.
func (p *planner) kindOf(i int32) uint8 { return p.state[i] & kindMask }

// joinOf is how row i joined its entity.
func (p *planner) joinOf(i int32) uint8 { return (p.state[i] & joinMask) >> joinShift }

// setJoin records how row i joined its entity.
func (p *planner) setJoin(i int32, how uint8) { p.state[i] = p.state[i]&^joinMask | how<<joinShift }

// hasFlag reports whether row i has flag f.
func (p *planner) hasFlag(i int32, f uint8) bool { return p.state[i]&f != 0 }

// Plan decides, for every row Stage wrote for the import, what the import
// does with it: which rows are one company or contact (within the file,
// and against the base: amoCRM ID, then ИНН, then name and address — the
// duplicate engine's keys), whom each record goes to, which company each
// contact belongs to, and so the row's action (create, update, merge,
// skip or error), entity, company_id / contact_id, link_entity,
// responsible_id, created_by_id, reason and issues. Contacts' companies
// that no company row names get rows of their own, numbered after the
// file's last record. Plan may run again on the same import: it starts
// from the staged rows each time. It returns the rows counted by action.
//
// Grouping is union-find over the rows, fed by the staged rows sorted by
// each key, so the groups do not depend on the order of the file. Plan
// runs as the system for an admin: nothing here filters by scope.
func Plan(ctx context.Context, tx *sql.Tx, db *database.DB, importID int64, opt PlanOptions) (Summary, error) {
	sum, _, err := plan(ctx, tx, db, importID, opt)
	return sum, err
}

// plan is Plan that also returns the tally of the decisions it wrote,
// from which Run's report takes its counts without reading every row
// again.
func plan(ctx context.Context, tx *sql.Tx, db *database.DB, importID int64, opt PlanOptions) (sum Summary, counted *tally, err error) {
	// The whole plan runs in a sort session (database.SortSession): its
	// steps sort or scan all the staged rows (the keys' ORDER BY, the
	// window over the contacts' company names and the automatic index
	// SQLite builds for its NOT EXISTS), and held in memory whole those
	// made a plan of 1,000,000 rows peak at 207 MB against 146 MB for
	// 100,000. decide, which pages entities through the index, took the
	// same CPU with the session's 2 MB cache as with the bulk session's
	// 32 MB. Apply gets the bulk session back.
	restore, err := db.SortSession(ctx, tx, database.SortCacheKiB)
	if err != nil {
		return Summary{}, nil, fmt.Errorf("plan import %d: %w", importID, err)
	}
	defer func() {
		if rerr := restore(); err == nil && rerr != nil {
			sum, counted, err = Summary{}, nil, fmt.Errorf("plan import %d: %w", importID, rerr)
		}
	}()
	p := &planner{ctx: ctx, tx: tx, db: db, importID: importID, opt: opt, tally: newTally()}
	steps := []struct {
		name string
		run  func() error
	}{
		{"reset", p.reset},
		{"analyze", p.analyze},
		{"users", p.loadUsers},
		{"rows", p.loadRows},
		{"group", p.group},
		{"entities", p.writeEntities},
		{"base", p.matchBase},
		{"same base", p.joinSameBase},
		{"orphans", p.addOrphanCompanies},
		{"decide", p.decide},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.run(); err != nil {
			return Summary{}, nil, fmt.Errorf("plan import %d: %s: %w", importID, s.name, err)
		}
		traceStep("plan "+s.name, start)
	}
	start := time.Now()
	sum, err = p.summary()
	traceStep("plan summary", start)
	return sum, p.tally, err
}

// Trace hears, when set (by a benchmark or `crm import-amo --trace`), how
// long each step of a run took: reading and staging, each step of the
// plan, each kind of Apply, the report.
var Trace func(step string, took time.Duration)

// traceStep tells Trace, if set, that step ran since start.
func traceStep(step string, start time.Time) {
	if Trace != nil {
		Trace(step, time.Since(start))
	}
}

// reset takes back what an earlier Plan of the import decided.
func (p *planner) reset() error {
	if p.opt.Fresh {
		return nil
	}
	if _, err := p.tx.ExecContext(p.ctx, `DELETE FROM import_rows WHERE import_id = $1 AND line = 0`, p.importID); err != nil {
		return err
	}
	for _, table := range []string{"import_row_ids", "import_row_plans"} {
		if _, err := p.tx.ExecContext(p.ctx, `DELETE FROM `+table+` WHERE import_id = $1`, p.importID); err != nil { //nolint:gosec // table names are constants
			return err
		}
	}
	// Only the rows a plan touched: a first plan rewrites nothing.
	_, err := p.tx.ExecContext(p.ctx, `UPDATE import_rows SET action = '', entity = number, company_id = NULL, contact_id = NULL,
		link_entity = NULL, responsible_id = NULL, created_by_id = NULL, reason = ''
		WHERE import_id = $1 AND kind <> '' AND (action <> '' OR entity IS NULL OR entity <> number)`, p.importID)
	return err
}

// analyze gives PostgreSQL's planner statistics of the rows Stage just
// wrote in this transaction: without them it guesses import_rows empty
// and joins it by scanning, which made linking 20,000 rows take minutes.
// SQLite plans by its indexes without statistics.
//
// Only the columns the plan's and Apply's queries filter, join and sort
// on are analysed: the wide ones (record, reason, issues) have no use to
// the planner, and sampling them made ANALYZE take 40 % longer (1.6–1.9 s
// against 2.9–3.0 s on 40,000 staged rows, measured under load).
func (p *planner) analyze() error {
	if p.db.Dialect != database.Postgres {
		return nil
	}
	_, err := p.tx.ExecContext(p.ctx, `ANALYZE import_rows (import_id, number, line, kind, amo_id, inn, name_key, name_norm,
		address_key, company_key, entity, action)`)
	return err
}

// loadUsers builds the responsible matcher from the active users and
// finds the fallback user's name.
func (p *planner) loadUsers() error {
	users, err := loadUsers(p.ctx, p.tx)
	if err != nil {
		return err
	}
	p.users = NewMatcher(users)
	if p.opt.Fallback == 0 {
		return nil
	}
	var username, first, last string
	err = p.tx.QueryRowContext(p.ctx, `SELECT username, first_name, last_name FROM users WHERE id = $1`, p.opt.Fallback).
		Scan(&username, &first, &last)
	if err != nil {
		return fmt.Errorf("fallback user %d: %w", p.opt.Fallback, err)
	}
	p.fallback = strings.TrimSpace(first + " " + last)
	if p.fallback == "" {
		p.fallback = username
	}
	return nil
}

// loadRows reads each row's kind and sizes the arrays.
func (p *planner) loadRows() error {
	if err := p.tx.QueryRowContext(p.ctx, `SELECT COALESCE(MAX(number), 0) FROM import_rows WHERE import_id = $1`,
		p.importID).Scan(&p.n); err != nil {
		return err
	}
	size := int(p.n) + 1
	p.state = make([]uint8, size)
	err := p.each(`SELECT number, kind FROM import_rows WHERE import_id = $1 AND kind <> ''`, func(rows *sql.Rows) error {
		var (
			n    int
			kind string
		)
		if err := rows.Scan(&n, &kind); err != nil {
			return err
		}
		switch Kind(kind) {
		case KindCompany:
			p.state[n] = kindCompany
		case KindContact:
			p.state[n] = kindContact
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Made after the scan: at its start the page cache still holds the
	// dirty pages Stage left (the sort session's smaller cache gives them
	// up only as the scan needs room), and at a million rows the arrays
	// are 8 MB more on top of them.
	p.parent = make([]int32, size)
	p.inn = make([]int32, size)
	for i := range p.parent {
		p.parent[i] = int32(i)
	}
	return nil
}

// find returns the root of row i: the lowest number of its entity.
func (p *planner) find(i int32) int32 {
	for p.parent[i] != i {
		p.parent[i] = p.parent[p.parent[i]]
		i = p.parent[i]
	}
	return i
}

// union joins the entities of rows a and b; the lower root stays root,
// so an entity is always numbered by its first row.
func (p *planner) union(a, b int32) {
	ra, rb := p.find(a), p.find(b)
	switch {
	case ra < rb:
		p.parent[rb] = ra
	case rb < ra:
		p.parent[ra] = rb
	}
}

// markJoin records how row i joined others, keeping the strongest way.
func (p *planner) markJoin(i int32, how uint8) {
	if j := p.joinOf(i); j == joinNone || how < j {
		p.setJoin(i, how)
	}
}

// group makes the entities: companies by amoCRM ID and ИНН (the hard
// keys), then by name and address where that joins at most one ИНН;
// contacts by amoCRM ID only.
func (p *planner) group() error {
	defer func() { p.inn = nil }() // grouping's alone
	for _, kind := range []Kind{KindCompany, KindContact} {
		if err := p.groupBlocks(`SELECT number, CAST(amo_id AS TEXT) FROM import_rows
			WHERE import_id = $1 AND kind = '`+string(kind)+`' AND amo_id IS NOT NULL ORDER BY amo_id, number`,
			func(block []int32, _ int32) {
				if len(block) < 2 {
					return
				}
				for _, i := range block[1:] {
					p.union(block[0], i)
				}
				for _, i := range block {
					p.markJoin(i, joinAmo)
				}
			}); err != nil {
			return err
		}
	}
	if err := p.groupBlocks(`SELECT number, inn FROM import_rows
		WHERE import_id = $1 AND kind = 'company' AND inn <> '' ORDER BY inn, number`,
		func(block []int32, seq int32) {
			for _, i := range block {
				p.inn[i] = seq
				if len(block) > 1 {
					p.union(block[0], i)
					p.markJoin(i, joinINN)
				}
			}
		}); err != nil {
		return err
	}
	// Each hard entity's ИНН, decided before any name joins, so that the
	// name pass reads the same facts whatever the order of the file. In
	// place: a root is never after its rows, so going up the numbers a
	// root's own ИНН is read (it starts its entity's) before any of its
	// rows writes there, and a row that is no root is read once, by
	// itself. No root appears later (unions only take roots away), so the
	// name pass finds every root it asks about here.
	for i := int32(1); i <= p.n; i++ {
		id := p.inn[i]
		if id == 0 {
			continue
		}
		r := p.find(i)
		if r == i {
			continue
		}
		switch p.inn[r] {
		case 0:
			p.inn[r] = id
		case id, -1:
		default:
			p.inn[r] = -1
		}
	}
	hard := make(map[int32]int32) // a block's roots → ИНН, reused
	return p.groupBlocks(`SELECT number, name_key || '#' || address_key FROM import_rows
		WHERE import_id = $1 AND kind = 'company' AND name_key <> '' AND line > 0 ORDER BY name_key, address_key, number`,
		func(block []int32, _ int32) {
			if len(block) < 2 {
				return
			}
			clear(hard)
			inns := map[int32]bool{}
			for _, i := range block {
				r := p.find(i)
				hard[r] = p.inn[r]
				if v := p.inn[r]; v != 0 {
					inns[v] = true
					if v == -1 {
						inns[-2] = true // two ИНН in one entity already
					}
				}
			}
			if len(inns) <= 1 {
				for _, i := range block[1:] {
					p.union(block[0], i)
				}
				for _, i := range block {
					p.markJoin(i, joinName)
				}
				return
			}
			// Companies with different ИНН share this name and address:
			// the rows without one cannot tell which they belong to. They
			// stay together, apart from all of those.
			var first int32
			for _, i := range block {
				if hard[p.find(i)] != 0 {
					continue
				}
				p.state[i] |= flagNameAmbiguous
				if first == 0 {
					first = i
					continue
				}
				p.union(first, i)
				p.markJoin(first, joinName)
				p.markJoin(i, joinName)
			}
		})
}

// groupBlocks streams (number, key) rows sorted by key and calls fn with
// each run of rows that share a key, numbered from 1 in key order.
func (p *planner) groupBlocks(query string, fn func(block []int32, seq int32)) error {
	var (
		block []int32
		key   string
		seq   int32
	)
	err := p.each(query, func(rows *sql.Rows) error {
		var (
			n int32
			k string
		)
		if err := rows.Scan(&n, &k); err != nil {
			return err
		}
		if len(block) > 0 && k != key {
			seq++
			fn(block, seq)
			block = block[:0]
		}
		key = k
		block = append(block, n)
		return nil
	})
	if err != nil {
		return err
	}
	if len(block) > 0 {
		seq++
		fn(block, seq)
	}
	return nil
}

// writeEntities stores the entity (the root) of each record that joined
// another; the others keep their own number, which Stage wrote.
func (p *planner) writeEntities() error {
	var batch [][]any
	for i := int32(1); i <= p.n; i++ {
		if p.kindOf(i) == kindNone {
			continue
		}
		if r := p.find(i); r != i {
			batch = append(batch, []any{i, r})
			if len(batch) == updateBatch {
				if err := p.updateRows("entity = v.column2", []string{"INTEGER", "INTEGER"}, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
	}
	return p.updateRows("entity = v.column2", []string{"INTEGER", "INTEGER"}, batch)
}

// updateBatch is how many rows one UPDATE … FROM (VALUES …) changes.
const updateBatch = 512

// updateRows updates import_rows of the import from rows, each starting
// with the row's number; set names the other values as v.column2, … and
// types are every column's SQL type (VALUES needs them on PostgreSQL).
func (p *planner) updateRows(set string, types []string, rows [][]any) error {
	return updateImportRows(p.ctx, p.tx, p.db.Dialect, p.importID, set, types, rows)
}

// updateImportRows sets columns of many rows of an import in one
// statement: rows are the values, the row's number first (int32 or
// int64), joined as v.column1…; set says what to set from them (e.g.
// "company_id = v.column2"); types are the values' SQL types.
func updateImportRows(ctx context.Context, tx *sql.Tx, dialect database.Dialect, importID int64, set string, types []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	// In pieces of the same few sizes (database.Pieces): each size is
	// one statement text, prepared once.
	if pieces := database.Pieces(dialect, len(rows), len(types)+1); len(pieces) > 1 {
		start := 0
		for _, n := range pieces {
			if err := updateImportRows(ctx, tx, dialect, importID, set, types, rows[start:start+n]); err != nil {
				return err
			}
			start += n
		}
		return nil
	}
	var (
		b    strings.Builder
		args []any
	)
	b.WriteString("UPDATE import_rows SET " + set + " FROM (VALUES ")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, v := range r {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, v)
			b.WriteString("CAST(" + bindMark(dialect, len(args)) + " AS " + types[j] + ")")
		}
		b.WriteByte(')')
	}
	// The numbers again as an IN list: the rows are then found through
	// the primary key. A join on the VALUES alone (or on json_each) made
	// both databases scan all the import's rows for every batch. They are
	// bound, not written into the text, so every full batch is the same
	// statement: the connection prepares it once and reuses it (literal
	// numbers made each batch a new statement, parsed and planned anew
	// and evicting the cached ones).
	args = append(args, importID)
	b.WriteString(") AS v WHERE import_rows.import_id = " + bindMark(dialect, len(args)) + " AND import_rows.number IN (")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		switch n := r[0].(type) {
		case int32, int64:
			args = append(args, n)
		default:
			return fmt.Errorf("import row number of type %T", r[0])
		}
		b.WriteString(bindMark(dialect, len(args)))
	}
	b.WriteString(") AND import_rows.number = v.column1")
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}

// bindMark is the placeholder of the n-th argument.
func bindMark(dialect database.Dialect, n int) string {
	if dialect == database.Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// each runs a query whose first argument is the import's id and calls fn
// for every row.
func (p *planner) each(query string, fn func(rows *sql.Rows) error, args ...any) error {
	return p.scan(query, append([]any{p.importID}, args...), fn)
}

// scan runs a query and calls fn for every row. No other statement may
// run on the transaction until it returns.
func (p *planner) scan(query string, args []any, fn func(rows *sql.Rows) error) error {
	rows, err := p.tx.QueryContext(p.ctx, query, args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// summary counts the rows by action.
func (p *planner) summary() (Summary, error) {
	if err := p.tallyUnplanned(); err != nil {
		return Summary{}, err
	}
	n := p.tally.actions
	return Summary{Created: n[ActionCreate], Updated: n[ActionUpdate], Merged: n[ActionMerge], Skipped: n[ActionSkip],
		Errors: n[ActionError]}, nil
}

// tallyUnplanned adds to the tally the rows that have no plan row and
// were not written by the plan: Stage's skipped lines, the only staged
// rows without a kind (decide plans every row of a company or a contact,
// addOrphanCompanies tallies the rows it adds). They are read through
// import_rows_entity_idx, (import_id, kind, …): counting the actions of
// all the rows joined to their plans (countActions) read every staged
// row and its plan — 0.4 s of CPU for 100,000 rows on SQLite, and the
// report read them all once more.
func (p *planner) tallyUnplanned() error {
	return p.each(`SELECT action, issues FROM import_rows WHERE import_id = $1 AND kind = ''`, func(rows *sql.Rows) error {
		var action, raw string
		if err := rows.Scan(&action, &raw); err != nil {
			return err
		}
		var issues []Issue
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &issues); err != nil {
				return fmt.Errorf("skipped row's issues: %w", err)
			}
		}
		p.tally.add(action, issues)
		return nil
	})
}

// tally counts the decisions of an import's rows as the plan writes them:
// the rows by action (the summary), the rows with a warning and the
// unknown «Ответственные» (the report) — what countActions and the
// report's scan of every row and its plan count, without reading them.
type tally struct {
	actions map[string]int
	warned  int            // rows with an issue other than the reason of a skip
	unknown map[string]int // unknown «Ответственный» → rows
}

func newTally() *tally {
	return &tally{actions: map[string]int{}, unknown: map[string]int{}}
}

// add counts one row with its action and its issues, as written.
func (t *tally) add(action string, issues []Issue) {
	t.actions[action]++
	if slices.ContainsFunc(issues, func(is Issue) bool { return !isSkipIssue(is) }) {
		t.warned++
	}
	for _, is := range issues {
		if is.Code == "responsible_unknown" && is.Value != "" {
			t.unknown[is.Value]++
		}
	}
}
