package duplicate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/progress"
)

// GroupCompany is one company of a group as the page lists it.
type GroupCompany struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	INN             string `json:"inn"`
	KPP             string `json:"kpp"`
	Address         string `json:"address"`
	ResponsibleName string `json:"responsible_name"`
}

// Group is a connected set of likely duplicates: its id (one of its
// companies), its best pairs (best first), their companies, and
// its best score. A large group shows its first groupShown pairs and
// their companies; Size and PairCount count them all.
type Group struct {
	ID        int64          `json:"id"`
	Score     float64        `json:"score"`
	Size      int            `json:"size"`
	PairCount int            `json:"pair_count"`
	Companies []GroupCompany `json:"companies"`
	Pairs     []Pair         `json:"pairs"`
}

// groupShown is how many companies and pairs of one group are listed.
const groupShown = 30

// shown is the first n of ids.
func shown(ids []int64, n int) []int64 { return ids[:min(n, len(ids))] }

// MarshalJSON writes a pair as {"a", "b", "score", "reasons", "checked_at"}.
func (p Pair) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		A         int64     `json:"a"`
		B         int64     `json:"b"`
		Score     float64   `json:"score"`
		Reasons   []Reason  `json:"reasons"`
		CheckedAt time.Time `json:"checked_at"`
	}{p.A, p.B, p.Score, p.Reasons, p.CheckedAt})
}

// GroupFilter selects a page of groups; Field keeps the groups with a
// pair that has a reason on that field ("inn", "phone", …).
type GroupFilter struct {
	Field      string
	Page, Size int
}

// GroupList is one page of groups and the totals.
type GroupList struct {
	Groups    []Group `json:"results"`
	Count     int     `json:"count"`     // groups
	Companies int     `json:"companies"` // companies in all the groups
	Pairs     int     `json:"pairs"`     // pairs in all the groups
}

// Groups lists a page of the groups of likely duplicates (stored with the
// pairs, see scan_write.go), best first: by best score, then the larger
// group, then the group's id. With a Field it lists the
// groups with a pair that has a reason on that field, and of each group
// those pairs. Admins only (the page is in the admin section): a branch
// director sees duplicates of their own branch in the company form's
// check, not here — a group may span branches.
//
// A company deleted (or merged away) since its pairs were written is
// left out at once: its pairs are not listed, nor a group left without
// pairs; the re-check removes its pairs soon after and regroups, and
// until then the sizes of its group count it.
func (s *Scanner) Groups(ctx context.Context, scope access.Scope, f GroupFilter) (GroupList, error) {
	if err := scope.CanManage(); err != nil {
		return GroupList{}, err
	}
	gone, err := s.gone(ctx)
	if err != nil {
		return GroupList{}, err
	}
	var w database.Where
	if len(gone) > 0 {
		in := idList(gone)
		w.Add(`g.id NOT IN (SELECT p.group_id FROM duplicate_pairs p WHERE (p.a_id IN ` + in + ` OR p.b_id IN ` + in + `)
			AND NOT EXISTS (SELECT 1 FROM duplicate_pairs q WHERE q.group_id = p.group_id AND q.a_id NOT IN ` + in + ` AND q.b_id NOT IN ` + in + `))`)
	}
	var like string
	if f.Field != "" {
		like = "%," + f.Field + ",%"
		// The bit is written into the statement: the planners match it
		// to the field's partial index (migration 00047).
		if bit := fieldBit(f.Field); bit != 0 {
			w.Add("g.field_bits & " + strconv.FormatInt(bit, 10) + " <> 0")
		} else {
			w.Add("1 = 0")
		}
	}
	var list GroupList
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(g.size), 0), COALESCE(SUM(g.pair_count), 0) FROM duplicate_groups g`+w.SQL(), w.Args()...).
		Scan(&list.Count, &list.Companies, &list.Pairs)
	if err != nil {
		return GroupList{}, fmt.Errorf("duplicate groups: %w", err)
	}
	page := w.SQL() + ` ORDER BY g.score DESC, g.size DESC, g.id`
	if f.Size > 0 {
		page += ` LIMIT ` + w.Arg(f.Size) + ` OFFSET ` + w.Arg(database.PageOffset(f.Page, f.Size))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT g.id, g.score, g.size, g.pair_count FROM duplicate_groups g`+page, w.Args()...)
	if err != nil {
		return GroupList{}, fmt.Errorf("duplicate groups: %w", err)
	}
	var ids []int64
	err = eachRow(rows, func() error {
		var g Group
		if err := rows.Scan(&g.ID, &g.Score, &g.Size, &g.PairCount); err != nil {
			return err
		}
		list.Groups = append(list.Groups, g)
		return nil
	})
	if err != nil {
		return GroupList{}, fmt.Errorf("duplicate groups: %w", err)
	}
	for i := range list.Groups {
		g := &list.Groups[i]
		if g.Pairs, err = s.shownPairs(ctx, g.ID, like, gone); err != nil {
			return GroupList{}, err
		}
		for _, p := range g.Pairs {
			ids = append(ids, p.A, p.B)
		}
	}
	companies, err := s.groupCompanies(ctx, ids)
	if err != nil {
		return GroupList{}, err
	}
	for i := range list.Groups {
		g := &list.Groups[i]
		var in []int64
		for _, p := range g.Pairs {
			in = append(in, p.A, p.B)
		}
		slices.Sort(in)
		for _, id := range shown(slices.Compact(in), groupShown) {
			if gc, ok := companies[id]; ok {
				g.Companies = append(g.Companies, gc)
			}
		}
	}
	return list, nil
}

// gone lists the deleted (or merged-away) companies that still have
// pairs: few, and found by the index of deleted companies.
func (s *Scanner) gone(ctx context.Context) ([]int64, error) {
	ids, err := database.Column[int64](ctx, s.db, `SELECT c.id FROM companies c WHERE c.deleted_at IS NOT NULL
		AND (EXISTS (SELECT 1 FROM duplicate_pairs p WHERE p.a_id = c.id) OR EXISTS (SELECT 1 FROM duplicate_pairs p WHERE p.b_id = c.id))
		ORDER BY c.id`)
	if err != nil {
		return nil, fmt.Errorf("duplicate groups: %w", err)
	}
	return ids, nil
}

// shownPairs reads the first groupShown pairs of group id, best first:
// those with a reason on the filter's field when like is set, none of a
// company gone.
func (s *Scanner) shownPairs(ctx context.Context, id int64, like string, gone []int64) ([]Pair, error) {
	var w database.Where
	w.Add("group_id = ?", id)
	if like != "" {
		w.Add("fields LIKE ?", like)
	}
	if len(gone) > 0 {
		w.Add("a_id NOT IN " + idList(gone) + " AND b_id NOT IN " + idList(gone))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT a_id, b_id, score, r.reasons, checked_at FROM duplicate_pairs JOIN duplicate_reasons r ON r.id = reasons_id`+w.SQL()+
		` ORDER BY score DESC, a_id, b_id LIMIT `+w.Arg(groupShown), w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("duplicate pairs: %w", err)
	}
	var out []Pair
	err = eachRow(rows, func() error {
		var p Pair
		var reasons string
		if err := rows.Scan(&p.A, &p.B, &p.Score, &reasons, &p.CheckedAt); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(reasons), &p.Reasons); err != nil {
			return fmt.Errorf("pair %d-%d reasons: %w", p.A, p.B, err)
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("duplicate pairs: %w", err)
	}
	return out, nil
}

func (s *Scanner) groupCompanies(ctx context.Context, ids []int64) (map[int64]GroupCompany, error) {
	out := map[int64]GroupCompany{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.name, c.inn, c.kpp, c.address,
		COALESCE(u.username, ''), COALESCE(u.first_name, ''), COALESCE(u.last_name, '')
		FROM companies c LEFT JOIN users u ON u.id = c.responsible_id WHERE c.id IN `+idList(ids))
	if err != nil {
		return nil, fmt.Errorf("group companies: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var c GroupCompany
		var login, first, last string
		if err := rows.Scan(&c.ID, &c.Name, &c.INN, &c.KPP, &c.Address, &login, &first, &last); err != nil {
			return nil, err
		}
		if c.ResponsibleName = strings.TrimSpace(first + " " + last); c.ResponsibleName == "" {
			c.ResponsibleName = login
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}

// Enqueue adds the job of a scan in the caller's transaction and returns
// its id (internal/jobs provides it; this package does not import it).
type Enqueue func(ctx context.Context, tx *sql.Tx, scanID int64) (jobID int64, err error)

// StartScan asks for a full scan: a new scan row and its job, in one
// transaction. While one is queued or running it is returned instead
// (started false) — one at a time, for the whole team. Admins only.
func (s *Scanner) StartScan(ctx context.Context, scope access.Scope, enqueue Enqueue) (sc Scan, started bool, err error) {
	if err := scope.CanManage(); err != nil {
		return Scan{}, false, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, active, err := s.activeScan(ctx, tx)
		if err != nil || active {
			sc = cur
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO duplicate_scans (requested_by, state, active, created_at)
			VALUES ($1, $2, TRUE, $3) RETURNING id`, database.NullInt64(scope.UserID), ScanQueued, s.now()).Scan(&sc.ID)
		if err != nil {
			return fmt.Errorf("start scan: %w", err)
		}
		jobID, err := enqueue(ctx, tx, sc.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE duplicate_scans SET job_id = $1 WHERE id = $2`, jobID, sc.ID); err != nil {
			return fmt.Errorf("start scan: %w", err)
		}
		if err := audit.Record(ctx, tx, scope, audit.Entry{Action: "duplicate.scan", ObjectType: "duplicate_scan", ObjectID: audit.ID(sc.ID)}); err != nil {
			return err
		}
		started = true
		sc, err = s.getScan(ctx, tx, sc.ID)
		return err
	})
	if database.IsUniqueViolation(err) { // another admin's click won the race
		sc, _, err = s.ActiveScan(ctx)
		return sc, false, err
	}
	return sc, started, err
}

const scanColumns = `id, COALESCE(requested_by, 0), job_id, state, total, done, pairs, error, created_at, finished_at`

func scanScan(row interface{ Scan(...any) error }) (Scan, error) {
	var sc Scan
	var fin sql.NullTime
	err := row.Scan(&sc.ID, &sc.RequestedBy, &sc.JobID, &sc.State, &sc.Total, &sc.Done, &sc.Pairs, &sc.Error, &sc.CreatedAt, &fin)
	if fin.Valid {
		sc.FinishedAt = &fin.Time
	}
	return sc, err
}

func (s *Scanner) getScan(ctx context.Context, q database.Querier, id int64) (Scan, error) {
	return scanScan(q.QueryRowContext(ctx, `SELECT `+scanColumns+` FROM duplicate_scans WHERE id = $1`, id))
}

func (s *Scanner) activeScan(ctx context.Context, q database.Querier) (Scan, bool, error) {
	sc, err := scanScan(q.QueryRowContext(ctx, `SELECT `+scanColumns+` FROM duplicate_scans WHERE active`))
	if errors.Is(err, sql.ErrNoRows) {
		return Scan{}, false, nil
	}
	if err != nil {
		return Scan{}, false, fmt.Errorf("active scan: %w", err)
	}
	return sc, true, nil
}

// ActiveScan is the scan queued or running, if any.
func (s *Scanner) ActiveScan(ctx context.Context) (Scan, bool, error) {
	return s.activeScan(ctx, s.db)
}

// LastScan is the latest scan, active or finished, if any.
func (s *Scanner) LastScan(ctx context.Context) (Scan, bool, error) {
	sc, err := scanScan(s.db.QueryRowContext(ctx, `SELECT `+scanColumns+` FROM duplicate_scans ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return Scan{}, false, nil
	}
	if err != nil {
		return Scan{}, false, fmt.Errorf("last scan: %w", err)
	}
	return sc, true, nil
}

// RunScan works scan id (the job's work): marks it running, runs Full with
// rep and the scan row both following its progress, and records the end.
// A scan already finished is left alone; one that was running when its
// process stopped runs again from the start (Full is idempotent).
func (s *Scanner) RunScan(ctx context.Context, id int64, rep progress.Reporter) error {
	sc, err := s.getScan(ctx, s.db, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if !sc.Active() {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE duplicate_scans SET state = $1, done = 0, total = 0, error = '' WHERE id = $2`, ScanRunning, id); err != nil {
		return fmt.Errorf("scan %d: %w", id, err)
	}
	row := &rowReporter{s: s, id: id, ctx: ctx, next: rep}
	stats, err := s.Full(ctx, row)
	if err != nil {
		rep.Finish(err)
		return err
	}
	// The row first: a page told by the bar that the scan is done reloads
	// and must find it done.
	_, err = s.db.ExecContext(ctx, `UPDATE duplicate_scans SET state = $1, active = FALSE, done = total, pairs = $2, finished_at = $3 WHERE id = $4`,
		ScanDone, stats.Pairs, s.now(), id)
	if err != nil {
		rep.Finish(err)
		return fmt.Errorf("scan %d: %w", id, err)
	}
	rep.Finish(nil)
	return nil
}

// FailScan records that scan id failed for good (the job gave up).
func (s *Scanner) FailScan(ctx context.Context, id int64, cause error) error {
	_, err := s.db.ExecContext(ctx, `UPDATE duplicate_scans SET state = $1, active = FALSE, error = $2, finished_at = $3 WHERE id = $4 AND active`,
		ScanFailed, cause.Error(), s.now(), id)
	return err
}

// rowReporter passes progress on and keeps the scan row's counts, at most
// once a second, so a page opened later (or in another process) shows
// where the scan stands.
type rowReporter struct {
	mu    sync.Mutex
	s     *Scanner
	id    int64
	ctx   context.Context //nolint:containedctx // the work's own context, for the row writes
	next  progress.Reporter
	total int64
	done  int64
	last  time.Time
}

func (r *rowReporter) Start(total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total, r.done = total, 0
	r.next.Start(total)
	r.write()
}

func (r *rowReporter) Add(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	r.next.Add(n)
	if time.Since(r.last) >= time.Second {
		r.write()
	}
}

func (r *rowReporter) Finish(error) {}

func (r *rowReporter) write() {
	r.last = time.Now()
	// The counts are for show: a failed write must not stop the scan.
	_, _ = r.s.db.ExecContext(r.ctx, `UPDATE duplicate_scans SET total = $1, done = $2 WHERE id = $3`, r.total, r.done, r.id)
}
