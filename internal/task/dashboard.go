package task

import (
	"context"
	"fmt"
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
func groupSQL(w *database.Where, t string, b Bounds) string {
	timed, allDay := "NOT "+t+".all_day", t+".all_day"
	edge := func(instant, date time.Time) string {
		return "((" + timed + " AND " + t + ".due_at < " + w.Arg(instant) + ") OR (" + allDay + " AND " + t + ".due_at < " + w.Arg(date) + "))"
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

// deskCTE is the WITH clause that ranks userID's open tasks into the
// desk's groups: g(id, grp, rn, n) with the row's rank within its group
// and the group's size. restrict, when set, limits the tasks to those sc
// may see (someone looking at another user's desk).
//
// It reads two ranges of the assignee's open tasks rather than all of
// them: those due before the end of the week (the tasks due later — most
// of a busy manager's — are in no dated group) and the new assignments
// (not yet seen, a short partial index of its own, migration 00020).
func deskCTE(w *database.Where, sc access.Scope, userID int64, b Bounds, restrict bool) string {
	mine := func(more ...string) *database.Where {
		var inner database.Where
		inner.Add("t.assigned_to = ?", userID)
		inner.Add(OpenSQL("t"))
		for _, m := range more {
			inner.Add(m)
		}
		if restrict {
			sc.RestrictTasks(&inner, "t")
		}
		return &inner
	}
	grp := groupSQL(w, "t", b)
	dated := mine()
	dated.Add("t.due_at < ?", weekEdge(b))
	datedWhere := w.Adopt(dated)
	freshWhere := w.Adopt(mine(freshSQL("t")))
	return `WITH o AS (SELECT t.id, t.due_at, ` + grp + ` AS grp FROM tasks t` + datedWhere + `),
	f AS (SELECT t.id, t.updated_at FROM tasks t` + freshWhere + `),
	g AS (
		SELECT id, grp, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY due_at, id) AS rn,
			COUNT(*) OVER (PARTITION BY grp) AS n
		FROM o WHERE grp <> 'later'
		UNION ALL
		SELECT id, 'new_assignments', ROW_NUMBER() OVER (ORDER BY updated_at DESC, id DESC),
			COUNT(*) OVER ()
		FROM f
	) `
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
// (1…MaxDeskRows), in ONE statement whatever the counts: the open tasks
// are ranked within their groups by window functions and the first n of
// each are joined to their details. Every group's size comes with its
// first row; a group without rows is empty. The caller sees their own
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
	var w database.Where
	with := deskCTE(&w, sc, userID, b, userID != sc.UserID)
	cols := viewerCols(&w, sc.UserID)
	q := with + selectTask + cols + ", g.grp, g.n" + fromTask + " JOIN g ON g.id = t.id WHERE g.rn <= " + w.Arg(n) +
		" ORDER BY g.grp, g.rn"
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
// one statement: what a live "desk" event carries.
func (s *Store) DeskCounts(ctx context.Context, sc access.Scope, userID int64, now time.Time, loc *time.Location) (Counts, error) {
	var c Counts
	if !sc.Acts() || userID == 0 {
		return c, nil
	}
	if loc == nil {
		loc = s.def
	}
	b := boundsAt(now, loc)
	var w database.Where
	grp := groupSQL(&w, "t", b)
	w.Add("t.assigned_to = ?", userID)
	w.Add(OpenSQL("t"))
	if userID != sc.UserID {
		sc.RestrictTasks(&w, "t")
	}
	q := `SELECT COALESCE(SUM(CASE WHEN grp = 'overdue' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN grp = 'today' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN grp = 'week' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(fresh), 0)
		FROM (SELECT ` + grp + ` AS grp, CASE WHEN ` + freshSQL("t") + ` THEN 1 ELSE 0 END AS fresh FROM tasks t` + w.SQL() + `) o`
	if err := s.db.QueryRowContext(ctx, q, w.Args()...).Scan(&c.Overdue, &c.Today, &c.Week, &c.NewAssignments); err != nil {
		return c, fmt.Errorf("desk counts: %w", err)
	}
	return c, nil
}
