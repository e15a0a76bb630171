package duplicate

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/memlimit"
	"github.com/crmprofi/crm/internal/progress"
)

// The team-wide scan (admin page «Дубли»). A full scan is set-based:
// candidate pairs come from indexed GROUP BYs on the exact keys (ИНН,
// ОГРН, name + address, phone, e-mail, website domain) and from a
// sorted-neighbourhood window over the normalised names (similar names
// sort close together), never from comparing every company with every
// other; the engine's Score then decides each candidate, and the pairs
// at or above Likely are kept in duplicate_pairs. Groups are the
// connected components of those pairs. A re-check (Recheck) does the same
// for the companies the triggers of migration 00019 marked dirty, through
// the engine's own indexed candidates (Engine.Find), the live check of
// the company form.

// Scan defaults.
const (
	// DefaultWindow is how many following names in name order each
	// company is paired with as a similar-name candidate.
	DefaultWindow = 4
	// bigGroup is the size from which the companies sharing one exact
	// key are chained (each with the next and with the first) rather than
	// paired all with all: a call-centre phone on 500 cards gives 1,000
	// candidates, not 125,000, and the group still comes out whole.
	bigGroup = 24
	// scoreChunk is how many candidate pairs are scored per round trip
	// for their records.
	scoreChunk = 2000
	// recheckBatch is how many dirty companies one Recheck call takes.
	recheckBatch = 500
)

// Scan states.
const (
	ScanQueued  = "queued"
	ScanRunning = "running"
	ScanDone    = "done"
	ScanFailed  = "failed"
)

// Pair is one stored likely duplicate: A < B.
type Pair struct {
	A, B      int64
	Score     float64
	Reasons   []Reason
	CheckedAt time.Time
}

// Scan is one full scan as the page shows it.
type Scan struct {
	ID          int64      `json:"id"`
	RequestedBy int64      `json:"requested_by"`
	JobID       int64      `json:"job_id"`
	State       string     `json:"state"`
	Total       int64      `json:"total"`
	Done        int64      `json:"done"`
	Pairs       int64      `json:"pairs"`
	Error       string     `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	FinishedAt  *time.Time `json:"finished_at"`
}

// Active reports whether the scan is queued or running.
func (s Scan) Active() bool { return s.State == ScanQueued || s.State == ScanRunning }

// ProgressID is the id of the scan's progress bar (data-progress).
func (s Scan) ProgressID() string { return "duplicate-scan-" + strconv.FormatInt(s.ID, 10) }

// ScanStats is what a full scan found.
type ScanStats struct {
	Candidates int
	Pairs      int
	Elapsed    time.Duration
	// The phases: collecting candidates, reading records and scoring,
	// writing the pairs.
	Collect, Score, Write time.Duration
	// The CPU time of each phase (when Scanner.CPUTime is set).
	CollectCPU, ScoreCPU, WriteCPU time.Duration
}

// Scanner runs the scans and serves the groups of the page.
type Scanner struct {
	db     *database.DB
	engine *Engine
	// Window is the similar-name window (DefaultWindow when 0).
	Window int
	// CPUTime, if set, is the process's CPU time so far: Full then
	// reports each phase's CPU (crm bench sets it).
	CPUTime func() time.Duration
	now     func() time.Time
	// MemoryLimit is the soft limit of the Go runtime's memory while
	// Full runs (debug.SetMemoryLimit; DefaultMemoryLimit from
	// NewScanner, 0: none). A lower limit the process already has stays.
	MemoryLimit int64
	// Recent, if set, holds what this process's saves found (shared with
	// their company.Store): the re-check of a company a save checked
	// takes its likely duplicates instead of asking the engine again.
	Recent *Recent
	// rebuildMin is the fewest pairs a full scan writes with the
	// indexes dropped and built again (defaultRebuildMin; tests lower it).
	rebuildMin int
}

// DefaultMemoryLimit is the Go runtime's soft memory limit during a full
// scan. A scan of 1,000,000 companies holds 600-700 MB at once (every
// company's record, the candidates, the pairs found); the collector's
// default pace lets the heap grow to twice what it held at its last
// collection, and the process reached 2 GB. Under the limit it collects
// more often as the heap nears it, instead of growing. The scan's big
// slices hold no pointers, so each collection costs little.
const DefaultMemoryLimit = 800 << 20

// NewScanner is the scanner of db.
func NewScanner(db *database.DB) *Scanner {
	return &Scanner{db: db, engine: New(db), Window: DefaultWindow, now: database.Now, rebuildMin: defaultRebuildMin,
		MemoryLimit: DefaultMemoryLimit}
}

type pairKey struct{ a, b int64 }

func orderedPair(x, y int64) pairKey {
	if x > y {
		x, y = y, x
	}
	return pairKey{x, y}
}

// Full scans the whole base and replaces duplicate_pairs and
// duplicate_groups with what it finds; rep sees the candidates scored.
// It runs under the soft memory limit MemoryLimit.
// The dirty marks present when it began are cleared when it ends (a mark
// made meanwhile stays).
//
// Both cores work: the records of every company (allRecords) are read
// while the names are walked for their candidates, the exact keys of
// the records are grouped two at a time, and the candidates are scored
// by scoreWorkers goroutines.
func (s *Scanner) Full(ctx context.Context, rep progress.Reporter) (ScanStats, error) {
	defer memlimit.Lower(s.MemoryLimit)()
	start, cpu := time.Now(), s.cpu()
	if _, err := s.db.ExecContext(ctx, `UPDATE duplicate_dirty SET taken = TRUE`); err != nil {
		return ScanStats{}, fmt.Errorf("take dirty marks: %w", err)
	}
	var (
		recs    *recordSet
		recsErr error
		read    = make(chan struct{})
	)
	go func() {
		defer close(read)
		recs, recsErr = s.allRecords(ctx)
	}()
	nameCands, err := s.nameCandidates(ctx, nil)
	<-read
	if err = cmp.Or(err, recsErr); err != nil {
		return ScanStats{}, err
	}
	cands := candidates(recs, nameCands)
	st := ScanStats{Candidates: len(cands), Collect: time.Since(start)}
	st.CollectCPU = s.cpu() - cpu
	phase, cpu := time.Now(), s.cpu()
	dismissed, err := s.dismissed(ctx, "")
	if err != nil {
		return ScanStats{}, err
	}
	cands = slices.DeleteFunc(cands, func(p pairKey) bool { _, ok := dismissed[p]; return ok })
	rep.Start(int64(len(cands)))
	table := newReasonTable()
	found, err := s.scoreAll(ctx, cands, recs, table, rep)
	if err != nil {
		return ScanStats{}, err
	}
	recs = nil
	groups := labelFound(found, table.list)
	st.Score, st.ScoreCPU = time.Since(phase), s.cpu()-cpu
	phase, cpu = time.Now(), s.cpu()
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.replacePairs(ctx, tx, found, table.list, s.now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM duplicate_groups`); err != nil {
			return fmt.Errorf("clear groups: %w", err)
		}
		if err := s.insertGroups(ctx, tx, groups); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM duplicate_dirty WHERE taken`); err != nil {
			return fmt.Errorf("clear dirty marks: %w", err)
		}
		return nil
	})
	if err != nil {
		return ScanStats{}, err
	}
	st.Write, st.WriteCPU = time.Since(phase), s.cpu()-cpu
	st.Pairs, st.Elapsed = len(found), time.Since(start)
	return st, nil
}

// cpu is the process's CPU time so far (CPUTime), 0 without it.
func (s *Scanner) cpu() time.Duration {
	if s.CPUTime == nil {
		return 0
	}
	return s.CPUTime()
}

// scoreWorkers is how many goroutines score the candidates.
const scoreWorkers = 4

// scoreAll scores the candidates against the records of every live
// company (allRecords: one pass over each table, in id order, no random
// reads) in memory, scoreWorkers at a time, each through its own
// pairScorer in front of table, and returns the likely duplicates in the
// order of cands (sorted), each with the index of its answer in table.
//
// The answer is one slice as long as cands: each chunk of candidates
// writes its likely pairs at its own place in it, and the chunks are then
// moved together. Most candidates are likely (nine in ten at 1,000,000
// companies), so this is barely more than the pairs themselves, where
// collecting each chunk's pairs on its own and joining them held the
// pairs twice (350 MB at 1,000,000 companies).
func (s *Scanner) scoreAll(ctx context.Context, cands []pairKey, recs *recordSet, table *reasonTable, rep progress.Reporter) ([]foundPair, error) {
	out := make([]foundPair, len(cands))
	counts := make([]int, (len(cands)+scoreChunk-1)/scoreChunk)
	var (
		mu    sync.Mutex
		next  int
		first error
	)
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next >= len(counts) || ctx.Err() != nil {
			return -1
		}
		next++
		return next - 1
	}
	var wg sync.WaitGroup
	for range scoreWorkers {
		wg.Go(func() {
			ps := newPairScorer(table)
			for i := take(); i >= 0; i = take() {
				chunk := cands[i*scoreChunk : min((i+1)*scoreChunk, len(cands))]
				dst := out[i*scoreChunk:]
				n := 0
				for _, p := range chunk {
					a, b := recs.get(p.a), recs.get(p.b)
					if a == nil || b == nil {
						continue
					}
					r, ok, err := ps.score(p, a, b)
					if err != nil {
						mu.Lock()
						first = cmp.Or(first, err)
						mu.Unlock()
						return
					}
					if ok {
						dst[n] = foundPair{a: p.a, b: p.b, reason: r}
						n++
					}
				}
				counts[i] = n
				rep.Add(int64(len(chunk)))
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := 0
	for i, c := range counts {
		n += copy(out[n:], out[i*scoreChunk:i*scoreChunk+c])
	}
	return out[:n], nil
}

// scoredPair is one likely duplicate as it is written: its reasons as
// JSON, their fields for the filter, and its group.
type scoredPair struct {
	a, b    int64
	score   float64
	reasons string
	fields  string
	group   int64
}

// likelyPair is p scored by the engine's Score, and whether it is at or
// above Likely.
func likelyPair(p pairKey, a, b *Record) (scoredPair, bool, error) {
	score, reasons := Score(*a, *b)
	if score < Likely {
		return scoredPair{}, false, nil
	}
	js, err := json.Marshal(reasons)
	if err != nil {
		return scoredPair{}, false, fmt.Errorf("reasons: %w", err)
	}
	return scoredPair{a: p.a, b: p.b, score: score, reasons: string(js), fields: reasonFields(reasons)}, true, nil
}

// allRecords reads the Records of every live company (see records).
func (s *Scanner) allRecords(ctx context.Context) (*recordSet, error) {
	return s.readRecords(ctx, "", "")
}

const pairInsert = `INSERT INTO duplicate_pairs (a_id, b_id, score, reasons_id, fields, checked_at, group_id)`

// pairUpsert lets a recheck overwrite the pair another recheck running at
// the same time has just written (PostgreSQL's READ COMMITTED lets both
// delete nothing and then insert the same key).
const pairUpsert = `ON CONFLICT (a_id, b_id) DO UPDATE SET score = excluded.score, reasons_id = excluded.reasons_id,
	fields = excluded.fields, checked_at = excluded.checked_at, group_id = excluded.group_id`

// writePairs upserts pairs (pairInsert, pairUpsert) in tx, their reasons
// by id (reasonIDs).
func (s *Scanner) writePairs(ctx context.Context, tx *sql.Tx, pairs []scoredPair, now time.Time) error {
	texts := make([]string, len(pairs))
	for i, p := range pairs {
		texts[i] = p.reasons
	}
	ids, err := s.reasonIDs(ctx, tx, texts)
	if err != nil {
		return err
	}
	rows := make([][]any, len(pairs))
	for i, p := range pairs {
		rows[i] = []any{p.a, p.b, p.score, ids[p.reasons], p.fields, now, p.group}
	}
	return s.db.UpsertRows(ctx, tx, pairInsert, pairUpsert, rows)
}

// reasonChunk is how many reason lists one statement of reasonIDs names.
const reasonChunk = 500

// reasonIDs gives the id in duplicate_reasons (migration 00055) of each
// of texts (reasons as JSON), adding those not there yet. Two
// transactions may add the same list at once: ON CONFLICT lets the
// second find the first's.
func (s *Scanner) reasonIDs(ctx context.Context, q database.Querier, texts []string) (map[string]int64, error) {
	texts = slices.Compact(slices.Sorted(slices.Values(texts)))
	ids := make(map[string]int64, len(texts))
	for start := 0; start < len(texts); start += reasonChunk {
		chunk := texts[start:min(start+reasonChunk, len(texts))]
		rows := make([][]any, len(chunk))
		args := make([]any, len(chunk))
		marks := make([]string, len(chunk))
		for i, t := range chunk {
			rows[i], args[i], marks[i] = []any{t}, t, "$"+strconv.Itoa(i+1)
		}
		if err := s.db.UpsertRows(ctx, q, `INSERT INTO duplicate_reasons (reasons)`, `ON CONFLICT (reasons) DO NOTHING`, rows); err != nil {
			return nil, fmt.Errorf("duplicate reasons: %w", err)
		}
		if err := readReasonIDs(ctx, q, strings.Join(marks, ", "), args, ids); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// readReasonIDs adds to ids the id of each reasons list args names
// (marks: their placeholders).
func readReasonIDs(ctx context.Context, q database.Querier, marks string, args []any, ids map[string]int64) error {
	rows, err := q.QueryContext(ctx, `SELECT id, reasons FROM duplicate_reasons WHERE reasons IN (`+marks+`)`, args...) //nolint:gosec // placeholders
	if err != nil {
		return fmt.Errorf("duplicate reasons: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id int64
		var t string
		if err := rows.Scan(&id, &t); err != nil {
			return fmt.Errorf("duplicate reasons: %w", err)
		}
		ids[t] = id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("duplicate reasons: %w", err)
	}
	return nil
}

// score asks the engine about each pair and returns those at or above
// Likely.
func (s *Scanner) score(ctx context.Context, pairs []pairKey) ([]scoredPair, error) {
	ids := make([]int64, 0, 2*len(pairs))
	for _, p := range pairs {
		ids = append(ids, p.a, p.b)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	byID, err := s.records(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []scoredPair
	for _, p := range pairs {
		a, b := byID[p.a], byID[p.b]
		if a == nil || b == nil {
			continue
		}
		sp, ok, err := likelyPair(p, a, b)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, sp)
		}
	}
	return out, nil
}

// records reads the Records of the live companies among ids (sorted) the
// way Engine.Records does — the same columns, dedup.AddressKey of the
// address — in two statements. On SQLite the ids are written into them:
// the engine's placeholders cost SQLite's driver more than the reading (a
// tenth of a second for 2,000 ids), and the scan reads every company. On
// PostgreSQL they are one array parameter (boundIDs): written in, every
// re-checked company's ids were new statements, each parsed, planned and
// prepared in a round trip of its own; bound, the two texts are prepared
// and planned once per connection. TestScanRecordsAreTheEngines holds
// the two to the same result.
func (s *Scanner) records(ctx context.Context, ids []int64) (map[int64]*Record, error) {
	if len(ids) == 0 {
		return map[int64]*Record{}, nil
	}
	var (
		set *recordSet
		err error
	)
	if s.db.Dialect == database.Postgres {
		set, err = s.readRecords(ctx, " AND id IN "+boundIDs, " AND company_id IN "+boundIDs, ids)
	} else {
		in := idList(ids)
		set, err = s.readRecords(ctx, " AND id IN "+in, " AND company_id IN "+in)
	}
	if err != nil {
		return nil, err
	}
	return set.byID(), nil
}

// readRecords reads the records of the live companies that cond (on
// companies) and childCond (on their phones and e-mails) keep, their
// parameters bound to args.
func (s *Scanner) readRecords(ctx context.Context, cond, childCond string, args ...any) (*recordSet, error) {
	out := &recordSet{}
	rows, err := s.db.QueryContext(ctx, `SELECT id, name_norm, inn, kpp, ogrn, address, website_domain
		FROM companies WHERE deleted_at IS NULL`+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("scan records: %w", err)
	}
	err = eachRow(rows, func() error {
		var r Record
		var address string
		if err := rows.Scan(&r.ID, &r.NameNorm, &r.INN, &r.KPP, &r.OGRN, &address, &r.Domain); err != nil {
			return err
		}
		r.AddressNorm = dedup.AddressKey(address)
		out.list = append(out.list, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan records: %w", err)
	}
	out.index()
	rows, err = s.db.QueryContext(ctx, `SELECT 1, company_id, e164 FROM company_phones WHERE e164 <> ''`+childCond+`
		UNION ALL SELECT 2, company_id, value_norm FROM company_emails WHERE value_norm <> ''`+childCond, args...)
	if err != nil {
		return nil, fmt.Errorf("scan records: %w", err)
	}
	err = eachRow(rows, func() error {
		var kind int
		var id int64
		var v string
		if err := rows.Scan(&kind, &id, &v); err != nil {
			return err
		}
		if r := out.get(id); r != nil && kind == 1 {
			r.Phones = append(r.Phones, v)
		} else if r != nil {
			r.Emails = append(r.Emails, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan records: %w", err)
	}
	return out, nil
}

// reasonFields is ",inn,phone," — the fields of reasons, for the filter.
func reasonFields(rs []Reason) string {
	var fs []string
	for _, r := range rs {
		if !slices.Contains(fs, r.Field) {
			fs = append(fs, r.Field)
		}
	}
	if len(fs) == 0 {
		return ""
	}
	return "," + strings.Join(fs, ",") + ","
}

// recordKeys are the exact keys that pair companies — ИНН, ОГРН, the
// website's domain, a phone, an e-mail — as read from a company's
// Record (the name's is nameKey). The full scan groups them in memory,
// from the records it reads anyway: the queries that grouped them in the
// database (a GROUP BY … HAVING COUNT(*) > 1 joined back to the table)
// read each index twice, looked every phone and e-mail row up in its
// table and its company in companies at random — at 1,000,000 companies
// more waiting on the disk than work — and SQLite planned the join for
// the website as a scan of every company for each shared domain. The
// same name and address need no key of their own: the same name is one.
var recordKeys = []func(r *Record, add func(key string)){
	func(r *Record, add func(string)) { addKey(add, r.INN) },
	func(r *Record, add func(string)) { addKey(add, r.OGRN) },
	func(r *Record, add func(string)) { addKey(add, r.Domain) },
	func(r *Record, add func(string)) {
		for _, p := range r.Phones {
			addKey(add, p)
		}
	},
	func(r *Record, add func(string)) {
		for _, e := range r.Emails {
			addKey(add, e)
		}
	},
}

func addKey(add func(string), key string) {
	if key != "" {
		add(key)
	}
}

// nameKey is the candidate query on the normalised name: its order, by
// name and then id, is also the sorted neighbourhood's (nameCandidates).
// It stays in the database, whose collation orders the names.
const nameKey = `SELECT name_norm, id FROM companies WHERE deleted_at IS NULL AND name_norm <> '' ORDER BY name_norm, id`

// candidateWorkers is how many goroutines group the exact keys.
const candidateWorkers = 2

// candidates collects the candidate pairs of the whole base, each once:
// nameCands (nameCandidates) and the pairs of the companies of recs that
// share an exact key (recordKeys), grouped candidateWorkers keys at a
// time.
func candidates(recs *recordSet, nameCands []pairKey) []pairKey {
	lists := make([][]pairKey, len(recordKeys)+1)
	lists[len(recordKeys)] = nameCands
	sem := make(chan struct{}, candidateWorkers)
	var wg sync.WaitGroup
	for i, keyOf := range recordKeys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			lists[i] = keyPairs(recs, keyOf)
		})
	}
	wg.Wait()
	out := slices.Concat(lists...)
	clear(lists)
	slices.SortFunc(out, func(x, y pairKey) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	return slices.Compact(out)
}

// keyPairs pairs the companies of recs that share a key of keyOf
// (groupPairs), each key's companies in id order. The keys are sorted by
// a 64-bit hash, the strings compared only where two hashes are equal:
// which key comes before which does not matter, only that each key's
// companies come together, and comparing strings was most of the sort.
func keyPairs(recs *recordSet, keyOf func(r *Record, add func(string))) []pairKey {
	type keyed struct {
		hash uint64
		id   int64
		key  string
	}
	seed := maphash.MakeSeed()
	list := make([]keyed, 0, len(recs.list))
	for i := range recs.list {
		r := &recs.list[i]
		keyOf(r, func(k string) { list = append(list, keyed{maphash.String(seed, k), r.ID, k}) })
	}
	slices.SortFunc(list, func(x, y keyed) int {
		if x.hash != y.hash {
			return cmp.Compare(x.hash, y.hash)
		}
		return cmp.Or(strings.Compare(x.key, y.key), cmp.Compare(x.id, y.id))
	})
	var out []pairKey
	var ids []int64
	for i, k := range list {
		if i > 0 && k.key != list[i-1].key {
			out = groupPairs(out, ids)
			ids = ids[:0]
		}
		if len(ids) == 0 || ids[len(ids)-1] != k.id {
			ids = append(ids, k.id)
		}
	}
	return groupPairs(out, ids)
}

// keyGroups streams q's (key, id) rows, ordered by key and id, and
// calls fn with the ids of each key and row with each id, in the order
// of q. The key is compared as the driver's bytes: a string is made once
// per key, not once per row.
func (s *Scanner) keyGroups(ctx context.Context, q string, fn func(ids []int64), row func(id int64)) error {
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("duplicate candidates: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var key string
	var ids []int64
	for rows.Next() {
		var k sql.RawBytes
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return err
		}
		if string(k) != key {
			fn(ids)
			key, ids = string(k), ids[:0]
		}
		ids = append(ids, id)
		row(id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("duplicate candidates: %w", err)
	}
	fn(ids)
	return nil
}

// groupPairs adds the candidate pairs of companies sharing one key.
func groupPairs(out []pairKey, ids []int64) []pairKey {
	if len(ids) < 2 {
		return out
	}
	if len(ids) <= bigGroup {
		for i, a := range ids {
			for _, b := range ids[i+1:] {
				out = append(out, orderedPair(a, b))
			}
		}
		return out
	}
	for i := 1; i < len(ids); i++ {
		out = append(out, orderedPair(ids[0], ids[i]))
		if i > 1 {
			out = append(out, orderedPair(ids[i-1], ids[i]))
		}
	}
	return out
}

// nameCandidates pairs the companies of one normalised name (as
// recordKeys do for the other keys) and each company with the next
// Window companies in the order of their names (the index
// companies_name_idx): a sorted neighbourhood, where names that differ
// late — a suffix, a typo at the end, one word more — land next to each
// other. One walk along the index gives both.
func (s *Scanner) nameCandidates(ctx context.Context, out []pairKey) ([]pairKey, error) {
	w := cmp.Or(s.Window, DefaultWindow)
	ring := make([]int64, 0, w)
	err := s.keyGroups(ctx, nameKey, func(ids []int64) { out = groupPairs(out, ids) }, func(id int64) {
		for _, prev := range ring {
			out = append(out, orderedPair(prev, id))
		}
		if len(ring) == w {
			copy(ring, ring[1:])
			ring = ring[:w-1]
		}
		ring = append(ring, id)
	})
	if err != nil {
		return nil, fmt.Errorf("name candidates: %w", err)
	}
	return out, nil
}

// fingerprint is the SQL of a company's fingerprint (alias c): its ИНН,
// normalised name and address. A dismissal holds while both companies
// keep theirs.
func fingerprint(c string) string {
	return c + ".inn || '|' || " + c + ".name_norm || '|' || " + c + ".address_norm"
}

// dismissed returns the pairs still dismissed (both fingerprints
// unchanged); cond, if not empty, limits them (alias d), its parameters
// bound to args. A re-check binds its company's id rather than writing
// it in: one text for every company, prepared and planned once per
// connection — written in, each re-checked company was a new statement,
// parsed, planned (0.35 ms of PostgreSQL's time under the load test) and
// prepared in a round trip of its own.
func (s *Scanner) dismissed(ctx context.Context, cond string, args ...any) (map[pairKey]struct{}, error) {
	q := `SELECT d.a_id, d.b_id FROM duplicate_dismissals d
		JOIN companies a ON a.id = d.a_id JOIN companies b ON b.id = d.b_id
		WHERE d.fingerprint_a = ` + fingerprint("a") + ` AND d.fingerprint_b = ` + fingerprint("b")
	if cond != "" {
		q += " AND " + cond
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("dismissed pairs: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[pairKey]struct{}{}
	for rows.Next() {
		var p pairKey
		if err := rows.Scan(&p.a, &p.b); err != nil {
			return nil, err
		}
		out[p] = struct{}{}
	}
	return out, rows.Err()
}

// Recheck re-checks up to one batch of the companies marked dirty (created
// or changed since their last check) and reports how many it took and
// whether more are waiting. It does nothing while a full scan is active:
// the scan will cover them.
func (s *Scanner) Recheck(ctx context.Context) (n int, more bool, err error) {
	s.Recent.begin()
	defer s.Recent.end()
	if _, active, err := s.ActiveScan(ctx); err != nil || active {
		return 0, false, err
	}
	if err := s.groupLoosePairs(ctx); err != nil {
		return 0, false, err
	}
	marks, err := s.dirtyMarks(ctx, recheckBatch+1)
	if err != nil {
		return 0, false, err
	}
	if more = len(marks) > recheckBatch; more {
		marks = marks[:recheckBatch]
	}
	for _, m := range marks {
		pairs, err := s.check(ctx, m.id)
		now := s.now()
		if err != nil {
			return n, more, err
		}
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			// Rechecks running at once (several workers or processes)
			// rewrite overlapping pairs in different orders: on
			// PostgreSQL they take turns here, or they deadlock. The
			// write is a few rows; SQLite serialises writers anyway.
			if err := s.lockPairs(ctx, tx); err != nil {
				return err
			}
			before, err := pairsOfCompany(ctx, tx, m.id)
			if err != nil {
				return err
			}
			// A company deleted meanwhile gets no pairs (the page must
			// not list it).
			var live int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM companies WHERE id = $1 AND deleted_at IS NULL`, m.id).Scan(&live); err != nil {
				return err
			}
			if live == 0 {
				pairs = nil
			}
			if g, ok := samePartners(before, pairs); ok {
				// The graph keeps its shape: only the group's row changes.
				for i := range pairs {
					pairs[i].group = g
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM duplicate_pairs WHERE a_id = $1 OR b_id = $1`, m.id); err != nil {
					return fmt.Errorf("replace pairs: %w", err)
				}
				if err := s.writePairs(ctx, tx, pairs, now); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM duplicate_dirty WHERE company_id = $1 AND gen = $2`, m.id, m.gen); err != nil {
					return fmt.Errorf("clear dirty mark: %w", err)
				}
				return refreshGroup(ctx, tx, g, before, pairs)
			}
			ch := pairChange{terminals: []int64{m.id}, removed: before, added: pairs}
			for _, p := range slices.Concat(before, pairs) {
				if other := p.a + p.b - m.id; !slices.Contains(ch.terminals, other) {
					ch.terminals = append(ch.terminals, other)
				}
			}
			if ch.groupOf, ch.consistent, err = groupsOf(ctx, s.db.Dialect, tx, ch.terminals); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM duplicate_pairs WHERE a_id = $1 OR b_id = $1`, m.id); err != nil {
				return fmt.Errorf("replace pairs: %w", err)
			}
			// Two rechecks of the companies of one pair both write it:
			// the later one's score wins.
			if err := s.writePairs(ctx, tx, pairs, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM duplicate_dirty WHERE company_id = $1 AND gen = $2`, m.id, m.gen); err != nil {
				return fmt.Errorf("clear dirty mark: %w", err)
			}
			return s.regroupAround(ctx, tx, ch)
		})
		if err != nil {
			return n, more, err
		}
		n++
	}
	return n, more, nil
}

// groupLoosePairs groups the pairs not grouped yet: those stored before
// migration 00039 gave pairs their groups (a re-check writes and groups
// its pairs in one transaction).
func (s *Scanner) groupLoosePairs(ctx context.Context) error {
	loose, err := database.Column[int64](ctx, s.db, `SELECT a_id FROM duplicate_pairs WHERE group_id = 0 LIMIT 1`)
	if err != nil || len(loose) == 0 {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockPairs(ctx, tx); err != nil {
			return err
		}
		return s.regroup(ctx, tx, nil)
	})
}

// lockPairs makes the transactions that rewrite pairs and groups on
// PostgreSQL (re-checks, «Не дубль») take turns; SQLite serialises
// writers anyway.
func (s *Scanner) lockPairs(ctx context.Context, tx *sql.Tx) error {
	if s.db.Dialect != database.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('duplicate.recheck'))`); err != nil {
		return fmt.Errorf("lock duplicate pairs: %w", err)
	}
	return nil
}

// RecheckLimit bounds the matches one re-check keeps of the engine's
// candidates (a save's check asks for as many, for Recent).
const RecheckLimit = 50

// recheckActor is the system actor the re-check asks the engine as.
const recheckActor = "job:duplicate.recheck"

type dirtyMark struct{ id, gen int64 }

// dirtyMarks reads up to limit dirty companies, oldest id first.
func (s *Scanner) dirtyMarks(ctx context.Context, limit int) ([]dirtyMark, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT company_id, gen FROM duplicate_dirty ORDER BY company_id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("dirty companies: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var marks []dirtyMark
	for rows.Next() {
		var m dirtyMark
		if err := rows.Scan(&m.id, &m.gen); err != nil {
			return nil, err
		}
		marks = append(marks, m)
	}
	return marks, rows.Err()
}

// check asks the engine (Engine.Find: its indexed candidates — ИНН, ОГРН,
// name, similar names, phones, e-mails, website — scored by Score) for
// the likely duplicates of company id — or takes those a save of this
// process found for the company as it is (Recent) —, rescores the companies it is
// paired with now, and returns the rows of those at or above Likely
// that are not dismissed.
func (s *Scanner) check(ctx context.Context, id int64) ([]scoredPair, error) {
	var p Probe
	err := s.db.QueryRowContext(ctx, `SELECT name, inn, kpp, ogrn, address, website FROM companies WHERE id = $1 AND deleted_at IS NULL`, id).
		Scan(&p.Name, &p.INN, &p.KPP, &p.OGRN, &p.Address, &p.Website)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recheck %d: %w", id, err)
	}
	p.Exclude = id
	if p.Phones, err = database.Column[string](ctx, s.db, `SELECT e164 FROM company_phones WHERE company_id = $1 AND e164 <> ''`, id); err != nil {
		return nil, err
	}
	if p.Emails, err = database.Column[string](ctx, s.db, `SELECT value_norm FROM company_emails WHERE company_id = $1 AND value_norm <> ''`, id); err != nil {
		return nil, err
	}
	likely, ok := s.Recent.take(id, p)
	if !ok {
		matches, err := s.engine.Find(ctx, access.System(recheckActor), p, RecheckLimit)
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			if m.Score >= Likely {
				likely = append(likely, m.ID)
			}
		}
	}
	var cands []pairKey
	for _, other := range likely {
		cands = append(cands, orderedPair(id, other))
	}
	partners, err := database.Column[int64](ctx, s.db, `SELECT a_id FROM duplicate_pairs WHERE b_id = $1 UNION SELECT b_id FROM duplicate_pairs WHERE a_id = $1`, id)
	if err != nil {
		return nil, err
	}
	for _, other := range partners {
		cands = append(cands, orderedPair(id, other))
	}
	slices.SortFunc(cands, func(x, y pairKey) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	cands = slices.Compact(cands)
	if len(cands) == 0 {
		return nil, nil
	}
	dismissed, err := s.dismissed(ctx, "(d.a_id = $1 OR d.b_id = $1)", id)
	if err != nil {
		return nil, err
	}
	cands = slices.DeleteFunc(cands, func(p pairKey) bool { _, ok := dismissed[p]; return ok })
	return s.score(ctx, cands)
}

// boundIDs is the ids of the array parameter $1 as a subquery, for a
// PostgreSQL statement that keeps one text whatever the ids. Not
// "= ANY($1)": for that the planner guesses ten elements, more than a
// re-check's two or three, so the plan without the values looked dearer
// than planning each call and every call was planned anew. The unnest
// with "x > 0" (ids are) is guessed at three, as in foundQuery, and
// after five calls the statement keeps its one plan: a probe of the
// index per id.
const boundIDs = "(SELECT x FROM unnest($1::bigint[]) AS u (x) WHERE x > 0)"

// idList is "(1, 2, 3)": ids written into the statement, which both
// drivers parse far faster than thousands of placeholders.
func idList(ids []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	if len(ids) == 0 {
		b.WriteString("NULL")
	}
	b.WriteByte(')')
	return b.String()
}

// Dismiss records «Не дубль» for the pair a, b for the whole team, with
// both companies' fingerprints, removes the pair from the list and
// audits it (duplicate.dismiss). Admins only.
func (s *Scanner) Dismiss(ctx context.Context, scope access.Scope, x, y int64) error {
	if err := scope.CanManage(); err != nil {
		return err
	}
	if x == y || x <= 0 || y <= 0 {
		return apperr.Invalid{"pair": "Укажите две разные компании"}
	}
	p := orderedPair(x, y)
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var fa, fb, na, nb string
		err := tx.QueryRowContext(ctx, `SELECT `+fingerprint("a")+`, `+fingerprint("b")+`, a.name, b.name
			FROM companies a, companies b WHERE a.id = $1 AND b.id = $2`, p.a, p.b).Scan(&fa, &fb, &na, &nb)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("dismiss: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO duplicate_dismissals (a_id, b_id, fingerprint_a, fingerprint_b, dismissed_by, dismissed_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (a_id, b_id) DO UPDATE SET fingerprint_a = excluded.fingerprint_a, fingerprint_b = excluded.fingerprint_b,
				dismissed_by = excluded.dismissed_by, dismissed_at = excluded.dismissed_at`,
			p.a, p.b, fa, fb, database.NullInt64(scope.UserID), s.now())
		if err != nil {
			return fmt.Errorf("dismiss: %w", err)
		}
		// The group without the pair may fall apart: on PostgreSQL the
		// re-checks' lock keeps them from regrouping it at the same time.
		if err := s.lockPairs(ctx, tx); err != nil {
			return err
		}
		ch := pairChange{terminals: []int64{p.a, p.b}}
		if ch.groupOf, ch.consistent, err = groupsOf(ctx, s.db.Dialect, tx, ch.terminals); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM duplicate_pairs WHERE a_id = $1 AND b_id = $2 RETURNING a_id, b_id, score, fields, group_id`, p.a, p.b)
		if err != nil {
			return fmt.Errorf("dismiss: %w", err)
		}
		err = eachRow(rows, func() error {
			var r scoredPair
			if err := rows.Scan(&r.a, &r.b, &r.score, &r.fields, &r.group); err != nil {
				return err
			}
			ch.removed = append(ch.removed, r)
			return nil
		})
		if err != nil {
			return fmt.Errorf("dismiss: %w", err)
		}
		if len(ch.removed) > 0 {
			if err := s.regroupAround(ctx, tx, ch); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, scope, audit.Entry{Action: "duplicate.dismiss", ObjectType: "company", ObjectID: audit.ID(p.a),
			Detail: map[string]any{"a": p.a, "b": p.b, "a_name": na, "b_name": nb}})
	})
}
