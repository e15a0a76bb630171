package task

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// Store keeps tasks, their comments and history. Every method takes the
// caller's Scope and puts it in the WHERE clause (access.RestrictTasks).
type Store struct {
	db    *database.DB
	def   *time.Location
	hooks *database.Hooks[Change]
	now   func() time.Time
}

// NewStore returns a Store on db; def is the time zone of users with
// neither their own nor a branch's (config's default).
func NewStore(db *database.DB, def *time.Location) *Store {
	if def == nil {
		def = time.UTC
	}
	return &Store{db: db, def: def, hooks: &database.Hooks[Change]{}, now: database.Now}
}

// WithTx returns the store working in the caller's transaction tx: its
// writes commit or roll back with the caller's (see database.DB.WithTx).
// The hooks registered on s are the copy's too.
func (s *Store) WithTx(tx *sql.Tx) *Store {
	c := *s
	c.db = s.db.WithTx(tx)
	return &c
}

// SetClock makes the store read the time from now (tests of states and
// recurrence); nil restores the real clock.
func (s *Store) SetClock(now func() time.Time) {
	if now == nil {
		now = database.Now
	}
	s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// selectTask reads a task with the names lists show and the company's
// owner for the permission rules. The viewer's zone names come last
// (viewerCols), bound to the viewer's id.
const selectTask = `SELECT t.id, t.title, t.description, t.type_id, COALESCE(tt.name, ''), COALESCE(tt.icon, ''), COALESCE(tt.color, ''),
	t.status, t.due_at, t.all_day, t.is_urgent,
	t.created_by, COALESCE(cu.first_name, ''), COALESCE(cu.last_name, ''), COALESCE(cu.username, ''),
	t.assigned_to, COALESCE(au.first_name, ''), COALESCE(au.last_name, ''), COALESCE(au.username, ''), au.branch_id,
	t.company_id, COALESCE(c.name, ''), c.deleted_at, c.responsible_id, c.created_by, c.branch_id, cru.branch_id,
	t.contact_id, COALESCE(ct.last_name, ''), COALESCE(ct.first_name, ''),
	t.recurrence_rrule, t.series_id, t.series_start, t.occurrence, t.result, t.completed_at, t.seen,
	t.created_at, t.updated_at, t.version`

const fromTask = ` FROM tasks t
	LEFT JOIN task_types tt ON tt.id = t.type_id
	LEFT JOIN users cu ON cu.id = t.created_by
	LEFT JOIN users au ON au.id = t.assigned_to
	LEFT JOIN companies c ON c.id = t.company_id
	LEFT JOIN users cru ON cru.id = c.responsible_id
	LEFT JOIN contacts ct ON ct.id = t.contact_id`

// viewerCols adds the viewer's zone names to a task query, the viewer's
// id bound by w: the states are computed without a statement of their own.
func viewerCols(w *database.Where, viewer int64) string {
	ph := w.Arg(viewer)
	return `, (SELECT vz.time_zone FROM users vz WHERE vz.id = ` + ph + `),
	(SELECT vb.time_zone FROM users vz2 JOIN branches vb ON vb.id = vz2.branch_id WHERE vz2.id = ` + ph + `)`
}

func personName(first, last, login string) string {
	if n := strings.TrimSpace(first + " " + last); n != "" {
		return n
	}
	return login
}

type scanner interface{ Scan(...any) error }

// scanTask reads a selectTask row followed by the viewer's zone names and
// extra columns.
func (s *Store) scanTask(row scanner, extra ...any) (Task, error) {
	var t Task
	var typeID, createdBy, assBranch, companyID, cResp, cBy, cBranch, cRespBranch, contactID, seriesID sql.NullInt64
	var cFirst, cLast, cLogin, aFirst, aLast, aLogin, ctLast, ctFirst string
	var cDeleted, seriesStart, completed sql.NullTime
	var vZone, vBranchZone sql.NullString
	dest := []any{&t.ID, &t.Title, &t.Description, &typeID, &t.TypeName, &t.TypeIcon, &t.TypeColor,
		&t.Status, &t.DueAt, &t.AllDay, &t.IsUrgent,
		&createdBy, &cFirst, &cLast, &cLogin,
		&t.AssignedTo, &aFirst, &aLast, &aLogin, &assBranch,
		&companyID, &t.CompanyName, &cDeleted, &cResp, &cBy, &cBranch, &cRespBranch,
		&contactID, &ctLast, &ctFirst,
		&t.Rule, &seriesID, &seriesStart, &t.Occurrence, &t.Result, &completed, &t.Seen,
		&t.CreatedAt, &t.UpdatedAt, &t.Version, &vZone, &vBranchZone}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return t, err
	}
	ptr := func(n sql.NullInt64) *int64 {
		if !n.Valid {
			return nil
		}
		v := n.Int64
		return &v
	}
	tptr := func(n sql.NullTime) *time.Time {
		if !n.Valid {
			return nil
		}
		v := n.Time.UTC()
		return &v
	}
	t.TypeID, t.CreatedBy, t.CompanyID, t.ContactID, t.SeriesID = ptr(typeID), ptr(createdBy), ptr(companyID), ptr(contactID), ptr(seriesID)
	t.SeriesStart, t.CompletedAt = tptr(seriesStart), tptr(completed)
	t.DueAt, t.CreatedAt, t.UpdatedAt = t.DueAt.UTC(), t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if createdBy.Valid {
		t.CreatedByName = personName(cFirst, cLast, cLogin)
	}
	t.AssignedToName = personName(aFirst, aLast, aLogin)
	t.assigneeBranch = assBranch.Int64
	if companyID.Valid && !cDeleted.Valid {
		t.companyRef = &access.CompanyRef{ResponsibleID: cResp.Int64, CreatedBy: cBy.Int64, BranchID: cBranch.Int64, ResponsibleBranchID: cRespBranch.Int64}
	}
	if contactID.Valid {
		t.ContactName = strings.TrimSpace(ctLast + " " + ctFirst)
	}
	t.RuleText = ruleText(t.Rule)
	t.State = stateOf(&t, s.now(), auth.ResolveZone(vZone.String, vBranchZone.String, s.def))
	return t, nil
}

// get reads a task sc may see, with q; ErrNotFound otherwise.
func (s *Store) get(ctx context.Context, q database.Querier, sc access.Scope, id int64) (Task, error) {
	var w database.Where
	cols := viewerCols(&w, sc.UserID)
	w.Add("t.id = ?", id)
	sc.RestrictTasks(&w, "t")
	t, err := s.scanTask(q.QueryRowContext(ctx, selectTask+cols+fromTask+w.SQL(), w.Args()...))
	if isNoRows(err) {
		return Task{}, apperr.ErrNotFound
	}
	if err != nil {
		return Task{}, fmt.Errorf("get task %d: %w", id, err)
	}
	return t, nil
}

// Get returns a task sc may see; ErrNotFound otherwise. Reading a task as
// its assignee marks it seen (the desk's «Новые назначения» drop it), with
// a Seen change for the hooks; the version does not change, so a form
// open elsewhere stays current.
func (s *Store) Get(ctx context.Context, sc access.Scope, id int64) (Task, error) {
	t, err := s.get(ctx, s.db, sc, id)
	if err != nil || t.Seen || sc.UserID == 0 || sc.UserID != t.AssignedTo {
		return t, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET seen = TRUE WHERE id = $1 AND seen = FALSE`, id)
		if err != nil {
			return fmt.Errorf("mark task %d seen: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		before := t
		t.Seen = true
		return s.notify(ctx, tx, Change{Kind: Seen, Actor: sc, Before: &before, After: &t})
	})
	return t, err
}

// Filter selects a page of tasks. Zero values select everything visible.
type Filter struct {
	Statuses   []Status
	State      string // overdue, today, week, later, done, cancelled, open
	AssignedTo int64
	CreatedBy  int64
	Company    int64
	Contact    int64
	Type       int64
	Series     int64
	DueBefore  time.Time // due_at < DueBefore
	DueAfter   time.Time // due_at >= DueAfter
	Search     string    // words of the title
	// NewAssignments keeps the tasks someone else assigned that their
	// assignee has not opened yet: the desk's «Новые назначения».
	NewAssignments bool
	Desc           bool // latest due first
	Page           int  // 1-based
	Size           int  // 0: 50
	// CountCap, when set, bounds the count of a list that is not one
	// assignee's: List counts at most CountBound() rows, and a count
	// equal to it means "more than CountBound()-1". See List.
	CountCap int
	// Loc is the zone State is computed in (the viewer's); nil: the
	// viewer's as the store resolves it.
	Loc *time.Location
}

// ValidState reports whether s is a state List filters by.
func ValidState(s string) bool {
	switch s {
	case "overdue", "today", "week", "later", "done", "cancelled", "open":
		return true
	}
	return false
}

// CountBound is how far List counts f's tasks: every one of them for one
// assignee's list or without CountCap (0); otherwise CountCap or, deeper
// than that, up to the end of the page — and one more, which tells
// "more than that".
func (f Filter) CountBound() int {
	if f.AssignedTo != 0 || f.CountCap <= 0 {
		return 0
	}
	size := f.Size
	if size <= 0 {
		size = 50
	}
	return max(f.CountCap, database.PageOffset(f.Page, size)+size) + 1
}

// List returns a page of the tasks sc may see by due time, and how many
// there are (at most f.CountBound() when that is set). The rows come with
// the total in one query.
func (s *Store) List(ctx context.Context, sc access.Scope, f Filter) ([]Task, int, error) {
	loc := f.Loc
	if f.State != "" && loc == nil {
		var err error
		if loc, err = s.Location(ctx, sc.UserID); err != nil {
			return nil, 0, err
		}
	}
	set := s.db.NewReadSet()
	list := s.queueList(set, sc, f, loc)
	if err := set.Run(ctx); err != nil {
		return nil, 0, err
	}
	return list()
}

// QueueList queues List's query on set (database.ReadSet), so that the
// company card sends it with its other reads; the function returned gives
// List's answer once set has run. A filter by State without Loc needs the
// viewer's zone first: it is read after set's reads, as List reads it.
func (s *Store) QueueList(set *database.ReadSet, sc access.Scope, f Filter) func() ([]Task, int, error) {
	if f.State != "" && f.Loc == nil {
		var (
			out   []Task
			count int
			err   = database.ErrNotRun
		)
		set.After(func(ctx context.Context) error {
			out, count, err = s.List(ctx, sc, f)
			return err
		})
		return func() ([]Task, int, error) { return out, count, err }
	}
	return s.queueList(set, sc, f, f.Loc)
}

// queueList is QueueList with the zone State is computed in.
func (s *Store) queueList(set *database.ReadSet, sc access.Scope, f Filter, loc *time.Location) func() ([]Task, int, error) {
	var (
		out   []Task
		count int
		err   = database.ErrNotRun
	)
	q, args, cw, bound, qerr := s.listQuery(sc, f, loc)
	if qerr != nil {
		return func() ([]Task, int, error) { return nil, 0, qerr }
	}
	set.Query(q, args, func(rows database.Rows) error {
		out, count, err = s.taskRows(rows, f)
		return err
	})
	set.After(func(ctx context.Context) error {
		if err != nil || len(out) > 0 || f.Page <= 1 {
			return nil
		}
		q := "SELECT COUNT(*) FROM tasks t" + cw.SQL()
		if bound > 0 {
			q = "SELECT COUNT(*) FROM (SELECT 1 AS one FROM tasks t" + cw.SQL() + " LIMIT " + strconv.Itoa(bound) + ") n"
		}
		if cerr := s.db.QueryRowContext(ctx, q, cw.Args()...).Scan(&count); cerr != nil {
			err = fmt.Errorf("count tasks: %w", cerr)
			return err
		}
		return nil
	})
	return func() ([]Task, int, error) { return out, count, err }
}

// listQuery builds List's query, and the WHERE of the visible tasks that
// pass f (cw) with the bound of their count, for a page past the last.
func (s *Store) listQuery(sc access.Scope, f Filter, loc *time.Location) (q string, args []any, cw database.Where, bound int, err error) {
	var kw database.Where
	sc.RestrictTasks(&cw, "t")
	for _, w := range []*database.Where{&cw, &kw} {
		if err := s.filter(w, f, loc); err != nil {
			return "", nil, cw, 0, err
		}
	}
	var w database.Where
	cols := viewerCols(&w, sc.UserID)
	bound = f.CountBound()
	arms := sc.TaskArms("t")
	byArms := f.AssignedTo == 0 && bound > 0 && arms != nil
	where := ""
	if !byArms {
		where = w.Adopt(&cw)
	}
	size := f.Size
	if size <= 0 {
		size = 50
	}
	order := " ORDER BY t.due_at, t.id"
	if f.Desc {
		order = " ORDER BY t.due_at DESC, t.id DESC"
	}
	// The page's ids and the total come from tasks alone (an index holds
	// the filter and the order); only the page's rows are joined to their
	// names, so the cost of the joins does not grow with the total.
	//
	// One assignee's tasks are a range of an index: the total is counted
	// apart, once, from the index, and the page read in the index's order
	// — as COUNT(*) OVER () beside the page both databases kept every
	// matching row to hand out fifty (a busy manager's «мои задачи»: 4,500
	// rows buffered a page). Without an assignee the filter is a scan of
	// all visible tasks, and one pass that counts while it pages costs half
	// of two.
	lit := s.literal(&w)
	limit := " LIMIT " + lit(size) + " OFFSET " + lit(database.PageOffset(f.Page, size))
	//
	// Everything a manager or an administrator may see is a scan of
	// hundreds of thousands of open tasks: with CountCap that count stops
	// at CountBound() rows (a read the size of a few pages), and an
	// administrator's page is the first rows of tasks_open_due_idx
	// (migration 00032) in due order that pass the filter.
	pg := "WITH p AS (SELECT t.id, COUNT(*) OVER () AS total FROM tasks t" + where + order + limit + ") "
	total := "p.total"
	switch {
	case f.AssignedTo != 0:
		pg = "WITH p AS (SELECT t.id FROM tasks t" + where + order + limit + ") "
		total = "(SELECT COUNT(*) FROM tasks t" + where + ")"
	case byArms:
		// A scope that sees a part of the base: each arm of its
		// visibility (access.TaskArms) is read from its own index —
		// the filter alone, without RestrictTasks: the arm is visible
		// by itself, and the rule's OR would send every row to the
		// table — in order, up to the page's end. Their union v holds
		// the page: a row of the page is among the first of its own arm.
		// Walking the open tasks of the base in due order instead passed
		// over forty-nine of every fifty (another's, each tested against
		// the companies).
		conds := w.Adopt(&kw)
		arm := make([]string, len(arms))
		for i, a := range arms {
			arm[i] = and(conds, w.Adopt(a))
		}
		union := func(n string) string {
			reads := make([]string, len(arm))
			for i, a := range arm {
				reads[i] = "SELECT * FROM (SELECT t.id, t.due_at FROM tasks t" + a + order + " LIMIT " + n + ") a" + strconv.Itoa(i)
			}
			return strings.Join(reads, " UNION ")
		}
		uorder := strings.ReplaceAll(order, "t.", "u.")
		pg = "WITH v AS (" + union(lit(database.PageOffset(f.Page, size)+size)) + "), p AS (SELECT u.id FROM v u" + uorder + limit + ") "
		total = countByArms(arm, union, lit(bound))
	case bound > 0:
		pg = "WITH p AS (SELECT t.id FROM tasks t" + where + order + limit + ") "
		total = "(SELECT COUNT(*) FROM (SELECT 1 AS one FROM tasks t" + where + " LIMIT " + lit(bound) + ") n)"
	}
	q = pg + selectTask + cols + ", " + total + fromTask + " JOIN p ON p.id = t.id" + order
	return q, w.Args(), cw, bound, nil
}

// taskRows reads listQuery's rows: the tasks and their total.
func (s *Store) taskRows(rows database.Rows, f Filter) ([]Task, int, error) {
	out := []Task{}
	count := 0
	for rows.Next() {
		t, err := s.scanTask(rows, &count)
		if err != nil {
			return nil, 0, fmt.Errorf("scan task: %w", err)
		}
		if f.Loc != nil {
			t.State = stateOf(&t, s.now(), f.Loc)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	return out, count, nil
}

// countByArms is the SQL of the count of the union of arms (each a
// " WHERE …" of tasks t) up to the bound b (its SQL). An arm that holds bound rows by
// itself decides it — the union holds at least as many — so arms are
// counted one by one, each up to the bound, and the first to reach it
// ends the count: a branch director's company arms hold tens of
// thousands of open tasks, and one read of bound index entries replaces
// the union of bound entries of every arm (sorted to drop the rows in two
// arms) that counted «более 1 000» before. The companies' arms come last
// in access.TaskArms and are the largest, so they are asked first. Only
// when no arm reaches the bound is the union counted, each arm whole (it
// is smaller than the bound) and the union up to the bound. Both
// databases evaluate a CASE's subqueries only when their branch is
// reached.
func countByArms(arm []string, union func(n string) string, b string) string {
	var sb strings.Builder
	sb.WriteString("(CASE")
	for i := len(arm) - 1; i >= 0; i-- {
		sb.WriteString(" WHEN (SELECT COUNT(*) FROM (SELECT 1 AS one FROM tasks t" + arm[i] + " LIMIT " + b + ") n" +
			strconv.Itoa(i) + ") >= " + b + " THEN " + b)
	}
	sb.WriteString(" ELSE (SELECT COUNT(*) FROM (SELECT u.id FROM (" + union(b) + ") u LIMIT " + b + ") n) END)")
	return sb.String()
}

// filter adds f's conditions to w, the state's in loc; t is the tasks
// alias. Visibility is the caller's: access.RestrictTasks, or one of
// access.TaskArms.
func (s *Store) filter(w *database.Where, f Filter, loc *time.Location) error {
	if len(f.Statuses) > 0 {
		vals := make([]any, len(f.Statuses))
		for i, st := range f.Statuses {
			vals[i] = string(st)
		}
		w.Add("t.status IN " + w.In(vals...))
	}
	if f.State != "" {
		if !boundsAt(s.now(), loc).AddState(w, "t", f.State) {
			return apperr.Invalid{"state": "Неизвестное состояние; допустимо: overdue, today, week, later, done, cancelled"}
		}
	}
	for _, c := range []struct {
		col string
		v   int64
	}{{"t.assigned_to", f.AssignedTo}, {"t.created_by", f.CreatedBy}, {"t.company_id", f.Company},
		{"t.contact_id", f.Contact}, {"t.type_id", f.Type}, {"t.series_id", f.Series}} {
		if c.v != 0 {
			w.Add(c.col+" = ?", c.v)
		}
	}
	if !f.DueBefore.IsZero() {
		w.Add("t.due_at < ?", f.DueBefore.UTC())
	}
	if !f.DueAfter.IsZero() {
		w.Add("t.due_at >= ?", f.DueAfter.UTC())
	}
	for _, word := range strings.Fields(dedup.NormalizeText(f.Search)) {
		w.Add(`t.title_norm LIKE ? ESCAPE '\'`, "%"+escapeLike(word)+"%")
	}
	if f.NewAssignments {
		w.Add(freshSQL("t"))
	}
	return nil
}

// literal returns how a LIMIT, an OFFSET or a count's bound is written
// into a list's SQL: on PostgreSQL as a number, on SQLite as a parameter
// of w (as its plans were measured). PostgreSQL plans a prepared
// statement for its parameters five times, then keeps one generic plan
// only if that costs no more than the plans it made; a generic plan
// cannot know a parameter's LIMIT and costs it at a tenth of the rows, so
// with parameters there no list statement ever kept its plan and every
// request was planned again — at 400,000 tasks and load average 24,
// 12–50 ms of planning for 1–2 ms of running. With the numbers in the
// text the generic plan is the custom one, and it is kept. The numbers
// come from a small set (page size, the first pages, the bound), so the
// statements stay few; they are ints, never input text.
func (s *Store) literal(w *database.Where) func(int) string {
	if s.db.Dialect == database.Postgres {
		return strconv.Itoa
	}
	return func(n int) string { return w.Arg(n) }
}

// and joins two " WHERE …" clauses, either of which may be empty.
func and(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " AND " + strings.TrimPrefix(b, " WHERE ")
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// fields are the values of a task a write sets, checked and resolved.
type fields struct {
	title, description string
	typeID             int64
	status             Status
	dueAt              time.Time
	allDay, urgent     bool
	assignedTo         int64
	companyID          int64
	contactID          int64
	rule               string
	result             string
	// names for history
	typeName, assigneeName, companyName, contactName string
}

func fieldsOf(t *Task) fields {
	f := fields{title: t.Title, description: t.Description, status: t.Status, dueAt: t.DueAt, allDay: t.AllDay,
		urgent: t.IsUrgent, assignedTo: t.AssignedTo, rule: t.Rule, result: t.Result,
		typeName: t.TypeName, assigneeName: t.AssignedToName, companyName: t.CompanyName, contactName: t.ContactName}
	if t.TypeID != nil {
		f.typeID = *t.TypeID
	}
	if t.CompanyID != nil {
		f.companyID = *t.CompanyID
	}
	if t.ContactID != nil {
		f.contactID = *t.ContactID
	}
	return f
}

// apply puts in over f, reporting shape and value errors in inv.
func (in *Input) apply(f *fields, inv apperr.Invalid, creating bool) {
	if in.Title.Set || creating {
		f.title = strings.TrimSpace(in.Title.Value)
		switch {
		case f.title == "":
			inv.Add("title", "Укажите название задачи")
		case len([]rune(f.title)) > MaxTitle:
			inv.Add("title", "Название — не длиннее "+strconv.Itoa(MaxTitle)+" символов")
		}
	}
	if in.Description.Set {
		f.description = strings.TrimSpace(in.Description.Value)
		if len([]rune(f.description)) > MaxDescription {
			inv.Add("description", "Описание — не длиннее "+strconv.Itoa(MaxDescription)+" символов")
		}
	}
	if in.Result.Set {
		f.result = strings.TrimSpace(in.Result.Value)
		if len([]rune(f.result)) > MaxResult {
			inv.Add("result", "Результат — не длиннее "+strconv.Itoa(MaxResult)+" символов")
		}
	}
	if in.Type.Set {
		f.typeID = in.Type.Value
		if in.Type.Bad || f.typeID < 0 {
			inv.Add("type", "Неверный идентификатор типа задачи")
		}
	}
	if in.Company.Set {
		f.companyID = in.Company.Value
		if in.Company.Bad || f.companyID < 0 {
			inv.Add("company", "Неверный идентификатор компании")
		}
	}
	if in.Contact.Set {
		f.contactID = in.Contact.Value
		if in.Contact.Bad || f.contactID < 0 {
			inv.Add("contact", "Неверный идентификатор контакта")
		}
	}
	if in.AssignedTo.Bad {
		inv.Add("assigned_to", "Неверный идентификатор исполнителя")
	}
	if in.Status.Set {
		st := Status(strings.TrimSpace(in.Status.Value))
		switch {
		case !st.Valid():
			inv.Add("status", "Неизвестный статус; допустимо: new, in_progress, done, cancelled")
		case st == StatusDone && f.status != StatusDone:
			inv.Add("status", "Чтобы выполнить задачу, используйте «Выполнить» (с результатом)")
		default:
			f.status = st
		}
	}
	if in.IsUrgent.Set {
		f.urgent = in.IsUrgent.Value
		if in.IsUrgent.Bad {
			inv.Add("is_urgent", "Ожидается true или false")
		}
	}
	wasAllDay := f.allDay
	if in.AllDay.Set {
		f.allDay = in.AllDay.Value
		if in.AllDay.Bad {
			inv.Add("all_day", "Ожидается true или false")
		}
	}
	switch raw := strings.TrimSpace(in.DueAt.Value); {
	case in.DueAt.Set || creating:
		if raw == "" {
			inv.Add("due_at", "Укажите срок")
			break
		}
		d, dateOnly, err := ParseDue(raw, in.Loc)
		switch {
		case err != nil:
			inv.Add("due_at", err.Error())
		case dateOnly && in.AllDay.Set && !f.allDay:
			inv.Add("due_at", "Укажите время или отметьте «Весь день»")
		case dateOnly:
			f.allDay, f.dueAt = true, d
		case f.allDay:
			f.dueAt = localDate(d, in.Loc)
		default:
			f.dueAt = d
		}
	case f.allDay && !wasAllDay:
		f.dueAt = localDate(f.dueAt, in.Loc)
	case !f.allDay && wasAllDay:
		// A whole day becomes a time: 09:00 of that day where the user is.
		y, m, d := f.dueAt.UTC().Date()
		f.dueAt = time.Date(y, m, d, 9, 0, 0, 0, zoneOr(in.Loc)).UTC()
	}
	if in.Rule.Set {
		rule, err := checkRule(strings.TrimSpace(in.Rule.Value))
		if err != nil {
			if iv, ok := apperr.AsInvalid(err); ok {
				for k, v := range iv {
					inv.Add(k, v)
				}
			} else {
				inv.Add("recurrence_rrule", err.Error())
			}
		}
		f.rule = rule
	}
	if in.Version.Bad {
		inv.Add("version", "Неверная версия")
	}
	if in.Scope != "" && in.Scope != "series" && in.Scope != "occurrence" {
		inv.Add("scope", "Ожидается series или occurrence")
	}
}

// Dates the product accepts: 2000 to 2200, beyond is a typo.
var (
	minDue = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDue = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// dueError is ParseDue's refusal, a Russian message for the field.
type dueError string

func (e dueError) Error() string { return string(e) }

// DateRu is how the forms write a date: «05.12.2026», whatever the
// browser's locale.
const DateRu = "02.01.2006"

// ParseDue reads a due time: RFC 3339 with an offset; "YYYY-MM-DDTHH:MM"
// or «ДД.ММ.ГГГГ ЧЧ:ММ» (with "T" or a space, or with seconds) in loc; or
// a date "YYYY-MM-DD" or «ДД.ММ.ГГГГ» (also «5.1.2026»), which is a whole
// day (allDay true, 00:00 UTC).
func ParseDue(s string, loc *time.Location) (t time.Time, allDay bool, err error) {
	if loc == nil {
		loc = time.UTC
	}
	bad := dueError("Неверный срок: введите дату ДД.ММ.ГГГГ (например, 05.12.2026) и, если нужно, время ЧЧ:ММ")
	switch {
	case len(s) > 40:
		return time.Time{}, false, bad
	case len(s) == 10 || strings.Count(s, ".") == 2 && !strings.Contains(s, ":"):
		for _, layout := range []string{time.DateOnly, "2.1.2006"} {
			if d, err := time.Parse(layout, s); err == nil {
				t, allDay = d, true
				break
			}
		}
	default:
		if d, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t = d
			break
		}
		for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05",
			"2.1.2006T15:04", "2.1.2006 15:04", "2.1.2006T15:04:05", "2.1.2006 15:04:05"} {
			if d, err := time.ParseInLocation(layout, s, loc); err == nil {
				t = d
				break
			}
		}
	}
	if t.IsZero() {
		return time.Time{}, false, bad
	}
	// The years are those the user typed (the wall clock in their zone
	// or the offset given), so that the same text is accepted or refused
	// alike in every zone: 2000-01-01 00:00 in Moscow is still 1999 in UTC.
	if y := t.Year(); y < minDue.Year() || y >= maxDue.Year() {
		return time.Time{}, false, dueError("Срок должен быть между 2000 и 2199 годом")
	}
	return t.UTC().Truncate(time.Microsecond), allDay, nil
}

func zoneOr(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// localDate is how an all-day task stores the day t falls on in loc: that
// date at 00:00 UTC.
func localDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(zoneOr(loc)).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// resolve checks the references of f against the database: the assignee
// is an active user sc may assign (403 otherwise), the type exists, the
// company and contact are visible to sc and the contact belongs to the
// company (a contact alone brings its company). prev is the task before
// the write (nil on create): unchanged references are not checked again,
// so a task keeps a company its editor cannot see.
func (s *Store) resolve(ctx context.Context, tx *sql.Tx, sc access.Scope, f *fields, prev *fields, inv apperr.Invalid) error {
	if prev == nil || f.assignedTo != prev.assignedTo {
		var branch sql.NullInt64
		var active bool
		var first, last, login string
		err := tx.QueryRowContext(ctx, `SELECT branch_id, is_active, first_name, last_name, username FROM users WHERE id = $1`, f.assignedTo).
			Scan(&branch, &active, &first, &last, &login)
		switch {
		case isNoRows(err) || (err == nil && !active):
			inv.Add("assigned_to", "Исполнитель не найден или отключён")
		case err != nil:
			return fmt.Errorf("assignee %d: %w", f.assignedTo, err)
		default:
			f.assigneeName = personName(first, last, login)
			if len(inv) == 0 {
				if err := sc.CanAssignTask(access.UserRef{ID: f.assignedTo, BranchID: branch.Int64}); err != nil {
					return err
				}
			}
		}
	}
	if f.typeID != 0 && (prev == nil || f.typeID != prev.typeID) {
		err := tx.QueryRowContext(ctx, `SELECT name FROM task_types WHERE id = $1`, f.typeID).Scan(&f.typeName)
		if isNoRows(err) {
			inv.Add("type", "Тип задачи не найден")
		} else if err != nil {
			return fmt.Errorf("task type %d: %w", f.typeID, err)
		}
	}
	if f.typeID == 0 {
		f.typeName = ""
	}
	contactChanged := f.contactID != 0 && (prev == nil || f.contactID != prev.contactID)
	companyChanged := f.companyID != 0 && (prev == nil || f.companyID != prev.companyID)
	if contactChanged {
		var w database.Where
		w.Add("ct.id = ?", f.contactID)
		w.Add("ct.deleted_at IS NULL")
		sc.RestrictContacts(&w, "ct")
		var company sql.NullInt64
		var last, first string
		err := tx.QueryRowContext(ctx, `SELECT ct.company_id, ct.last_name, ct.first_name FROM contacts ct`+w.SQL(), w.Args()...).Scan(&company, &last, &first)
		switch {
		case isNoRows(err):
			inv.Add("contact", "Контакт не найден")
		case err != nil:
			return fmt.Errorf("contact %d: %w", f.contactID, err)
		default:
			f.contactName = strings.TrimSpace(last + " " + first)
			if f.companyID == 0 && company.Valid {
				f.companyID = company.Int64
				companyChanged = prev == nil || f.companyID != prev.companyID
			} else if f.companyID != 0 && company.Int64 != f.companyID {
				inv.Add("contact", "Контакт не относится к выбранной компании")
			}
		}
	} else if f.contactID != 0 && companyChanged {
		var company sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT company_id FROM contacts WHERE id = $1`, f.contactID).Scan(&company); err != nil && !isNoRows(err) {
			return fmt.Errorf("contact %d: %w", f.contactID, err)
		}
		if company.Int64 != f.companyID {
			inv.Add("contact", "Контакт не относится к выбранной компании")
		}
	}
	if f.contactID == 0 {
		f.contactName = ""
	}
	if companyChanged {
		var w database.Where
		w.Add("c.id = ?", f.companyID)
		w.Add("c.deleted_at IS NULL")
		sc.Restrict(&w, "c")
		err := tx.QueryRowContext(ctx, `SELECT c.name FROM companies c`+w.SQL(), w.Args()...).Scan(&f.companyName)
		if isNoRows(err) {
			inv.Add("company", "Компания не найдена")
		} else if err != nil {
			return fmt.Errorf("company %d: %w", f.companyID, err)
		}
	}
	if f.companyID == 0 {
		f.companyName = ""
	}
	return inv.Err()
}

// Create adds a task. The assignee defaults to the caller; a task the
// caller sets themselves is seen already. A task with a rule starts a
// series: it is occurrence 1, its id the series', its due the series'
// start.
func (s *Store) Create(ctx context.Context, sc access.Scope, in Input) (Task, error) {
	if !sc.Acts() {
		return Task{}, apperr.ErrNotFound
	}
	var t Task
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = s.create(ctx, tx, sc, in)
		return err
	})
	return t, err
}

func (s *Store) create(ctx context.Context, tx *sql.Tx, sc access.Scope, in Input) (Task, error) {
	if in.Loc == nil {
		loc, err := UserLocation(ctx, tx, sc.UserID, s.def)
		if err != nil {
			return Task{}, err
		}
		in.Loc = loc
	}
	f := fields{status: StatusNew, assignedTo: sc.UserID}
	if in.AssignedTo.Set && !in.AssignedTo.Me {
		f.assignedTo = in.AssignedTo.Value
	}
	inv := apperr.Invalid{}
	in.apply(&f, inv, true)
	if f.status == StatusDone {
		f.status = StatusNew
	}
	if len(inv) > 0 {
		return Task{}, inv
	}
	if err := s.resolve(ctx, tx, sc, &f, nil, inv); err != nil {
		return Task{}, err
	}
	now := s.now()
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO tasks (title, title_norm, description, type_id, status, due_at, all_day, is_urgent,
		created_by, assigned_to, company_id, contact_id, recurrence_rrule, seen, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id`,
		f.title, dedup.NormalizeText(f.title), f.description, database.NullInt64(f.typeID), string(f.status), f.dueAt, f.allDay, f.urgent,
		database.NullInt64(sc.UserID), f.assignedTo, database.NullInt64(f.companyID), database.NullInt64(f.contactID), f.rule,
		f.assignedTo == sc.UserID, now).Scan(&id)
	if err != nil {
		return Task{}, fmt.Errorf("insert task: %w", err)
	}
	if f.rule != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET series_id = id, series_start = due_at WHERE id = $1`, id); err != nil {
			return Task{}, fmt.Errorf("start series %d: %w", id, err)
		}
	}
	if err := s.history(ctx, tx, sc, id, now, [][3]string{{"created", "", f.title}}); err != nil {
		return Task{}, err
	}
	if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "task.create", ObjectType: "task", ObjectID: audit.ID(id),
		Detail: map[string]any{"title": f.title, "assigned_to": f.assignedTo, "company": f.companyID}}); err != nil {
		return Task{}, err
	}
	t, err := s.get(ctx, tx, access.System("task:create"), id)
	if err != nil {
		return Task{}, err
	}
	s.viewerState(&t, in.Loc)
	return t, s.notify(ctx, tx, Change{Kind: Created, Actor: sc, After: &t})
}

// viewerState recomputes t's state in the writer's zone (the reload is
// made as the system, whose zone is the default).
func (s *Store) viewerState(t *Task, loc *time.Location) {
	if loc != nil {
		t.State = stateOf(t, s.now(), loc)
	}
}

// forWrite reads a task through sc (404), checks the role's rule for
// action (403) and the version the client edited (409).
func (s *Store) forWrite(ctx context.Context, tx *sql.Tx, sc access.Scope, id int64, action string, version int) (Task, error) {
	cur, err := s.get(ctx, tx, sc, id)
	if err != nil {
		return Task{}, err
	}
	if err := sc.CanChangeTask(cur.Ref(), action); err != nil {
		return Task{}, withTaskDetail(err, cur)
	}
	if version > 0 && version != cur.Version {
		return Task{}, apperr.ErrConflict
	}
	return cur, nil
}

// withTaskDetail gives a refusal the task it was about, for the audit
// entry the server writes for it.
func withTaskDetail(err error, t Task) error {
	var forb *apperr.Forbidden
	if !errors.As(err, &forb) {
		return err
	}
	return &apperr.Forbidden{Reason: forb.Reason, Detail: map[string]any{"title": t.Title, "assigned_to": t.AssignedTo}}
}

// Update changes a task. A PATCH sends only what changes; PUT and the
// form send everything. Changing the assignee follows CanAssignTask, and a
// task someone else assigns is unseen again.
//
// Recurrence: the rule belongs to the series from this task on. Changing
// the rule — or any change with Scope "series" — restarts the series here:
// this task becomes occurrence 1 of a series of its own, starting at its
// due time, so the next occurrences follow the new rule and times (the
// done ones before it keep theirs). Without Scope "series", moving the due
// time moves this occurrence alone; the next one is still computed from
// the series' start. An empty rule stops the series from this task on
// (StopSeries).
func (s *Store) Update(ctx context.Context, sc access.Scope, id int64, in Input) (Task, error) {
	var t Task
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = s.update(ctx, tx, sc, id, in)
		return err
	})
	return t, err
}

func (s *Store) update(ctx context.Context, tx *sql.Tx, sc access.Scope, id int64, in Input) (Task, error) {
	cur, err := s.forWrite(ctx, tx, sc, id, access.TaskEdit, in.Version.Value)
	if err != nil {
		return Task{}, err
	}
	if in.Loc == nil {
		if in.Loc, err = UserLocation(ctx, tx, sc.UserID, s.def); err != nil {
			return Task{}, err
		}
	}
	prev := fieldsOf(&cur)
	f := prev
	if in.AssignedTo.Set {
		f.assignedTo = in.AssignedTo.Value
		if in.AssignedTo.Me {
			f.assignedTo = sc.UserID
		}
	}
	inv := apperr.Invalid{}
	in.apply(&f, inv, false)
	if in.Company.Set && f.companyID == 0 && !in.Contact.Set {
		f.contactID = 0 // no company, no contact of it
	}
	if len(inv) > 0 {
		return Task{}, inv
	}
	if err := s.resolve(ctx, tx, sc, &f, &prev, inv); err != nil {
		return Task{}, err
	}
	changes := diff(prev, f, in.Loc)
	restart := f.rule != "" && (f.rule != prev.rule || in.Scope == "series")
	if len(changes) == 0 && !restart {
		s.viewerState(&cur, in.Loc)
		return cur, nil
	}
	seen := cur.Seen
	if f.assignedTo != prev.assignedTo {
		seen = f.assignedTo == sc.UserID
	}
	var completed any = database.NullTime(timeOr(cur.CompletedAt))
	if f.status != StatusDone {
		completed = nil
	}
	now := s.now()
	res, err := tx.ExecContext(ctx, `UPDATE tasks SET title = $1, title_norm = $2, description = $3, type_id = $4, status = $5, due_at = $6,
		all_day = $7, is_urgent = $8, assigned_to = $9, company_id = $10, contact_id = $11, recurrence_rrule = $12, result = $13,
		seen = $14, completed_at = $15, updated_at = $16, version = version + 1
		WHERE id = $17 AND version = $18`,
		f.title, dedup.NormalizeText(f.title), f.description, database.NullInt64(f.typeID), string(f.status), f.dueAt,
		f.allDay, f.urgent, f.assignedTo, database.NullInt64(f.companyID), database.NullInt64(f.contactID), f.rule, f.result,
		seen, completed, now, id, cur.Version)
	if err != nil {
		return Task{}, fmt.Errorf("update task %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return Task{}, apperr.ErrConflict
	}
	if restart {
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET series_id = id, series_start = due_at, occurrence = 1 WHERE id = $1`, id); err != nil {
			return Task{}, fmt.Errorf("restart series %d: %w", id, err)
		}
	}
	if err := s.history(ctx, tx, sc, id, now, changes); err != nil {
		return Task{}, err
	}
	names := make([]string, len(changes))
	for i, c := range changes {
		names[i] = c[0]
	}
	if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "task.update", ObjectType: "task", ObjectID: audit.ID(id),
		Detail: map[string]any{"title": f.title, "fields": names}}); err != nil {
		return Task{}, err
	}
	t, err := s.get(ctx, tx, access.System("task:update"), id)
	if err != nil {
		return Task{}, err
	}
	s.viewerState(&t, in.Loc)
	return t, s.notify(ctx, tx, Change{Kind: Updated, Actor: sc, Before: &cur, After: &t})
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// diff lists the changed fields as history rows: field, old, new — values
// as a person reads them (names, local times in loc).
func diff(a, b fields, loc *time.Location) [][3]string {
	var out [][3]string
	add := func(field, before, after string) {
		if before != after {
			out = append(out, [3]string{field, before, after})
		}
	}
	yes := func(v bool) string {
		if v {
			return "да"
		}
		return "нет"
	}
	add("title", a.title, b.title)
	add("description", a.description, b.description)
	if a.typeID != b.typeID {
		out = append(out, [3]string{"type", a.typeName, b.typeName})
	}
	add("status", Status(a.status).Label(), Status(b.status).Label())
	if !a.dueAt.Equal(b.dueAt) || a.allDay != b.allDay {
		out = append(out, [3]string{"due_at", dueText(a.dueAt, a.allDay, loc), dueText(b.dueAt, b.allDay, loc)})
	}
	add("is_urgent", yes(a.urgent), yes(b.urgent))
	if a.assignedTo != b.assignedTo {
		out = append(out, [3]string{"assigned_to", a.assigneeName, b.assigneeName})
	}
	if a.companyID != b.companyID {
		out = append(out, [3]string{"company", a.companyName, b.companyName})
	}
	if a.contactID != b.contactID {
		out = append(out, [3]string{"contact", a.contactName, b.contactName})
	}
	add("recurrence_rrule", a.rule, b.rule)
	add("result", a.result, b.result)
	return out
}

// dueText is a due time as history shows it: «02.01.2006 15:04 (MSK)»,
// or the date of an all-day task.
func dueText(t time.Time, allDay bool, loc *time.Location) string {
	if allDay {
		return t.UTC().Format("02.01.2006") + " (весь день)"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("02.01.2006 15:04 MST")
}

// history writes changes (field, old, new) of task id by sc at at.
func (s *Store) history(ctx context.Context, tx *sql.Tx, sc access.Scope, id int64, at time.Time, changes [][3]string) error {
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO task_history (task_id, actor_id, actor_name, actor_system, at, field, old, new)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, database.NullInt64(sc.UserID), sc.Name, sc.IsSystem(), at, c[0], c[1], c[2]); err != nil {
			return fmt.Errorf("task %d history: %w", id, err)
		}
	}
	return nil
}

// Delete removes a task for good (its comments and history with it) and
// returns it as it was; the audit entry keeps its title.
func (s *Store) Delete(ctx context.Context, sc access.Scope, id int64) (Task, error) {
	var cur Task
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		cur, err = s.forWrite(ctx, tx, sc, id, access.TaskDelete, 0)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tasks WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete task %d: %w", id, err)
		}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "task.delete", ObjectType: "task", ObjectID: audit.ID(id),
			Detail: map[string]any{"title": cur.Title, "assigned_to": cur.AssignedTo, "company": cur.CompanyID, "due_at": cur.DueAt}}); err != nil {
			return err
		}
		return s.notify(ctx, tx, Change{Kind: Deleted, Actor: sc, Before: &cur})
	})
	return cur, err
}
