package task

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// The desk's groups, as the API names them.
const (
	GroupOverdue        = "overdue"
	GroupToday          = "today"
	GroupWeek           = "week"
	GroupNewAssignments = "new_assignments"
)

// DeskRows is how many rows of each group the desk page shows; the API
// may ask for up to MaxDeskRows.
const (
	DeskRows    = 5
	MaxDeskRows = 100
)

// Counts are the sizes of the desk's groups.
type Counts struct {
	Overdue        int `json:"overdue"`
	Today          int `json:"today"`
	Week           int `json:"week"`
	NewAssignments int `json:"new_assignments"`
}

// Dashboard is a user's desk: their open tasks as the assignee that are
// overdue, due today and due later this week (Monday to Sunday), and
// those someone else assigned to them that they have not opened yet —
// each group's first rows by due time (new assignments: latest first)
// and its size. Days and weeks are the viewer's (see Bounds).
type Dashboard struct {
	Overdue        []Task `json:"overdue"`
	Today          []Task `json:"today"`
	Week           []Task `json:"week"`
	NewAssignments []Task `json:"new_assignments"`
	Counts         Counts `json:"counts"`
}

// Dashboard is userID's desk at now in loc with the first DeskRows rows
// of each group. See DashboardN.
func (s *Store) Dashboard(ctx context.Context, sc access.Scope, userID int64, now time.Time, loc *time.Location) (Dashboard, error) {
	return s.DashboardN(ctx, sc, userID, now, loc, DeskRows)
}

// groupSQL is the CASE that sorts an open task of t (alias) into overdue,
// today, week or later at the bounds — the same edges as Bounds.AddState
// and StateAt: a timed task compares its instant with now, tomorrow's and
// next Monday's midnights in the viewer's zone; an all-day task (a
// floating date at 00:00 UTC) compares its date with the viewer's dates.
func groupSQL(d database.Dialect, w *database.Where, t string, b Bounds) string {
	timed, allDay := "NOT "+t+".all_day", t+".all_day"
	due := comparedAsText(d, t+".due_at")
	edge := func(instant, date time.Time) string {
		return "((" + timed + " AND " + due + " < " + w.Arg(instant) + ") OR (" + allDay + " AND " + due + " < " + w.Arg(date) + "))"
	}
	return "CASE WHEN " + edge(b.Now.UTC().Truncate(time.Microsecond), b.TodayDate) + " THEN 'overdue'" +
		" WHEN " + edge(b.Tomorrow, b.TomorrowDate) + " THEN 'today'" +
		" WHEN " + edge(b.WeekEnd, b.WeekEndDate) + " THEN 'week'" +
		" ELSE 'later' END"
}

// freshSQL is the condition of a new assignment: assigned by someone else
// (or by the application itself) and not opened by the assignee yet.
func freshSQL(t string) string {
	return "NOT " + t + ".seen AND (" + t + ".created_by IS NULL OR " + t + ".created_by <> " + t + ".assigned_to)"
}

// deskCounts is the body of a CTE of one row (overdue, today, week,
// fresh): the sizes of userID's desk groups, counted from indexes alone.
// The dated groups are one range of tasks_assignee_open_cover_idx — the
// open tasks due before the end of the week — sorted by groupSQL; the
// tasks due later (most of a busy manager's open ones) are never read.
// The new assignments are counted from the partial index of the unseen
// (tasks_assignee_unseen_idx). restrict, when set, limits the tasks to
// those sc may see (someone looking at another user's desk).
func deskCounts(d database.Dialect, w *database.Where, sc access.Scope, userID int64, b Bounds, restrict bool) string {
	grp := groupSQL(d, w, "t", b)
	dated := deskWhere(sc, userID, restrict)
	dated.Add(OpenSQL("t"))
	dated.Add("t.due_at < ?", weekEdge(b))
	datedWhere := w.Adopt(dated)
	fresh := deskWhere(sc, userID, restrict)
	fresh.Add(OpenSQL("t"))
	fresh.Add(freshSQL("t"))
	freshWhere := w.Adopt(fresh)
	return `SELECT COALESCE(SUM(CASE WHEN o.grp = 'overdue' THEN 1 ELSE 0 END), 0) AS overdue,
		COALESCE(SUM(CASE WHEN o.grp = 'today' THEN 1 ELSE 0 END), 0) AS today,
		COALESCE(SUM(CASE WHEN o.grp = 'week' THEN 1 ELSE 0 END), 0) AS week,
		(SELECT COUNT(*) FROM tasks t` + freshWhere + `) AS fresh
	FROM (SELECT ` + grp + ` AS grp FROM tasks t` + datedWhere + `) o`
}

// deskWhere is the condition every desk query starts from: userID's
// open tasks as the assignee, and only those sc may see when restrict.
func deskWhere(sc access.Scope, userID int64, restrict bool) *database.Where {
	var w database.Where
	w.Add("t.assigned_to = ?", userID)
	if restrict {
		sc.RestrictTasks(&w, "t")
	}
	return &w
}

// deskRows is the body of a CTE dg(id, grp, rn): the first n rows of each
// desk group with their rank. Each group is its own bounded read — a
// seek into the assignee's range of an index in its order, stopped by
// LIMIT — so the desk costs the same with 50 overdue tasks or 5,000.
func deskRows(w *database.Where, sc access.Scope, userID int64, b Bounds, restrict bool, n int) string {
	var arms []string
	for _, grp := range []string{GroupOverdue, GroupToday, GroupWeek} {
		in := deskWhere(sc, userID, restrict)
		b.AddState(in, "t", grp)
		where := w.Adopt(in)
		arms = append(arms, `SELECT x.id, '`+grp+`' AS grp, ROW_NUMBER() OVER (ORDER BY x.due_at, x.id) AS rn
		FROM (SELECT t.id, t.due_at FROM tasks t`+where+` ORDER BY t.due_at, t.id LIMIT `+w.Arg(n)+`) x`)
	}
	in := deskWhere(sc, userID, restrict)
	in.Add(OpenSQL("t"))
	in.Add(freshSQL("t"))
	where := w.Adopt(in)
	arms = append(arms, `SELECT x.id, '`+GroupNewAssignments+`' AS grp, ROW_NUMBER() OVER (ORDER BY x.updated_at DESC, x.id DESC) AS rn
		FROM (SELECT t.id, t.updated_at FROM tasks t`+where+` ORDER BY t.updated_at DESC, t.id DESC LIMIT `+w.Arg(n)+`) x`)
	return strings.Join(arms, "\n\tUNION ALL ")
}

// weekEdge is the later of the week's two ends: a timed task is in the
// week before WeekEnd (an instant), an all-day one before WeekEndDate (a
// date at 00:00 UTC), and which comes first depends on the zone.
func weekEdge(b Bounds) time.Time {
	if b.WeekEnd.After(b.WeekEndDate) {
		return b.WeekEnd
	}
	return b.WeekEndDate
}

// DashboardN is userID's desk at now in loc with up to n rows a group
// (1…MaxDeskRows), in ONE statement whatever the counts: the first n of
// each group, each read by its own LIMIT (deskRows), are joined to their
// details beside the groups' sizes (deskCounts). Every group's size comes
// with its rows; a group without rows is empty. The caller sees their own
// desk; someone else's only as far as sc may see its tasks.
func (s *Store) DashboardN(ctx context.Context, sc access.Scope, userID int64, now time.Time, loc *time.Location, n int) (Dashboard, error) {
	d := Dashboard{Overdue: []Task{}, Today: []Task{}, Week: []Task{}, NewAssignments: []Task{}}
	if !sc.Acts() || userID == 0 {
		return d, nil
	}
	if loc == nil {
		loc = s.def
	}
	n = min(max(n, 1), MaxDeskRows)
	b := boundsAt(now, loc)
	restrict := userID != sc.UserID
	var w database.Where
	counts := deskCounts(s.db.Dialect, &w, sc, userID, b, restrict)
	firsts := deskRows(&w, sc, userID, b, restrict, n)
	cols := viewerCols(&w, sc.UserID)
	q := "WITH dc AS (" + counts + "),\n\tdg AS (" + firsts + ")\n" + selectTask + cols +
		", dg.grp, CASE dg.grp WHEN 'overdue' THEN dc.overdue WHEN 'today' THEN dc.today WHEN 'week' THEN dc.week ELSE dc.fresh END" +
		fromTask + " JOIN dg ON dg.id = t.id CROSS JOIN dc ORDER BY dg.grp, dg.rn"
	rows, err := s.db.QueryContext(ctx, q, w.Args()...)
	if err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var grp string
		var size int
		t, err := s.scanTask(rows, &grp, &size)
		if err != nil {
			return d, fmt.Errorf("dashboard: %w", err)
		}
		t.State = string(StateAt(t.DueAt, t.AllDay, now, loc))
		switch grp {
		case GroupOverdue:
			d.Overdue, d.Counts.Overdue = append(d.Overdue, t), size
		case GroupToday:
			d.Today, d.Counts.Today = append(d.Today, t), size
		case GroupWeek:
			d.Week, d.Counts.Week = append(d.Week, t), size
		case GroupNewAssignments:
			d.NewAssignments, d.Counts.NewAssignments = append(d.NewAssignments, t), size
		}
	}
	if err := rows.Err(); err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	return d, nil
}

// DeskCounts is only the sizes of userID's desk groups at now in loc, in
// one statement: what a live "desk" event carries. Like the desk it
// counts index ranges (see deskCounts), never all of the user's open
// tasks.
func (s *Store) DeskCounts(ctx context.Context, sc access.Scope, userID int64, now time.Time, loc *time.Location) (Counts, error) {
	var c Counts
	if !sc.Acts() || userID == 0 {
		return c, nil
	}
	if loc == nil {
		loc = s.def
	}
	var w database.Where
	q := "WITH dc AS (" + deskCounts(s.db.Dialect, &w, sc, userID, boundsAt(now, loc), userID != sc.UserID) + ") SELECT overdue, today, week, fresh FROM dc"
	if err := s.db.QueryRowContext(ctx, q, w.Args()...).Scan(&c.Overdue, &c.Today, &c.Week, &c.NewAssignments); err != nil {
		return c, fmt.Errorf("desk counts: %w", err)
	}
	return c, nil
}
