package task

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// Period is one column of a desk chart: from Start (inclusive) to End
// (exclusive), both midnights in the viewer's zone, and how many.
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Count int       `json:"count"`
}

// Chart bounds: how far back the desk's charts may look.
const (
	MaxChartWeeks  = 52
	MaxChartMonths = 24
)

// WeekStarts are the Mondays (midnight in loc) that begin the last n
// weeks up to and including the week of now, oldest first, and the
// Monday after the last: n+1 edges. Stepping by calendar days keeps every
// edge at local midnight across DST changes.
func WeekStarts(now time.Time, loc *time.Location, n int) []time.Time {
	local := now.In(loc)
	y, m, d := local.Date()
	monday := d - (int(local.Weekday())+6)%7
	edges := make([]time.Time, n+1)
	for i := range edges {
		edges[i] = time.Date(y, m, monday-7*(n-1-i), 0, 0, 0, 0, loc)
	}
	return edges
}

// MonthStarts are the first days (midnight in loc) of the last n months
// up to and including the month of now, oldest first, and the first day
// of the month after: n+1 edges.
func MonthStarts(now time.Time, loc *time.Location, n int) []time.Time {
	y, m, _ := now.In(loc).Date()
	edges := make([]time.Time, n+1)
	for i := range edges {
		edges[i] = time.Date(y, m-time.Month(n-1-i), 1, 0, 0, 0, 0, loc)
	}
	return edges
}

// bucketSums is one SUM(CASE …) column per period of edges over the
// timestamp column col, with the edges bound in w as UTC instants: every
// bucket of a chart in one scan and one statement.
func bucketSums(w *database.Where, col string, edges []time.Time) string {
	cols := make([]string, len(edges)-1)
	for i := range cols {
		cols[i] = "COALESCE(SUM(CASE WHEN " + col + " >= " + w.Arg(edges[i].UTC()) + " AND " + col + " < " +
			w.Arg(edges[i+1].UTC()) + " THEN 1 ELSE 0 END), 0)"
	}
	return strings.Join(cols, ", ")
}

// comparedAsText is a timestamp column col as a CASE of a select list
// compares it with bound times, row after row (the desk's group sizes,
// its chart «Выполнено по неделям»). SQLite gives DATETIME columns
// NUMERIC affinity, so each such comparison first tries to read both
// sides — the stored text and the bound text — as numbers (a copy and a
// failed float parse apiece, most of that chart's CPU in a profile)
// before comparing them as the text they are. As TEXT the comparison is
// the one SQLite ends up making, without the attempts. Only in a select
// list: in a WHERE it would hide the column from its index. PostgreSQL
// compares timestamps: col as it is.
func comparedAsText(d database.Dialect, col string) string {
	if d == database.SQLite {
		return "CAST(" + col + " AS TEXT)"
	}
	return col
}

// periods scans one row of bucket sums into Periods.
func periods(row interface{ Scan(...any) error }, edges []time.Time) ([]Period, error) {
	out := make([]Period, len(edges)-1)
	dest := make([]any, len(out))
	for i := range out {
		out[i] = Period{Start: edges[i], End: edges[i+1]}
		dest[i] = &out[i].Count
	}
	return out, row.Scan(dest...)
}

// DoneByWeek counts the tasks userID completed as their assignee in each
// of the last weeks (1…MaxChartWeeks) Monday to Sunday in loc, up to the
// week of now, oldest first, in one statement. Someone else's figures
// count only the tasks sc may see.
func (s *Store) DoneByWeek(ctx context.Context, sc access.Scope, userID int64, now time.Time, loc *time.Location, weeks int) ([]Period, error) {
	if loc == nil {
		loc = s.def
	}
	edges := WeekStarts(now, loc, min(max(weeks, 1), MaxChartWeeks))
	var w database.Where
	sums := bucketSums(&w, comparedAsText(s.db.Dialect, "t.completed_at"), edges)
	if !sc.Acts() || userID == 0 {
		w.Add("1 = 0")
	}
	w.Add("t.assigned_to = ?", userID)
	w.Add("t.status = 'done'")
	w.Add("t.completed_at >= ? AND t.completed_at < ?", edges[0].UTC(), edges[len(edges)-1].UTC())
	if userID != sc.UserID {
		sc.RestrictTasks(&w, "t")
	}
	out, err := periods(s.db.QueryRowContext(ctx, "SELECT "+sums+" FROM tasks t"+w.SQL(), w.Args()...), edges)
	if err != nil {
		return nil, fmt.Errorf("tasks done by week: %w", err)
	}
	return out, nil
}

// NewCompaniesByMonth counts the companies created in each of the last
// months (1…MaxChartMonths) in loc, up to the month of now, oldest
// first, among those sc may see and not in the trash, in one statement.
//
// The counts come from company_months (migration 00043), which its
// triggers keep per UTC month, branch and responsible — so sc restricts
// it as it restricts companies. A month in loc starts a few hours before
// or after its UTC month: those hours are counted from
// companies_created_idx and moved to the right column (monthEdges). A
// whole base's twelve months are thus a few thousand tally rows and a
// few hours of companies at each edge, not half a million companies.
func (s *Store) NewCompaniesByMonth(ctx context.Context, sc access.Scope, now time.Time, loc *time.Location, months int) ([]Period, error) {
	if loc == nil {
		loc = s.def
	}
	edges := MonthStarts(now, loc, min(max(months, 1), MaxChartMonths))
	var w database.Where
	var cols []string
	for _, e := range monthEdges(edges) {
		cols = append(cols, "COALESCE(SUM(CASE WHEN g.month = "+w.Arg(e.month)+" THEN g.n ELSE 0 END), 0)")
	}
	// shift[i] is how many of the companies counted under edge i's UTC
	// month belong to the month before it in loc (negative: the other way).
	for _, e := range monthEdges(edges) {
		if e.from.Equal(e.to) {
			cols = append(cols, "0")
			continue
		}
		var in database.Where
		in.Add("c.deleted_at IS NULL")
		in.Add("c.created_at >= ? AND c.created_at < ?", e.from, e.to)
		sc.Restrict(&in, "c")
		sign := ""
		if e.local.Before(e.utc) {
			sign = "-"
		}
		cols = append(cols, sign+"(SELECT COUNT(*) FROM companies c"+w.Adopt(&in)+")")
	}
	first, last := monthKey(edges[0]), monthKey(edges[len(edges)-1])
	w.Add("ct.month >= ? AND ct.month < ?", first, last)
	sc.Restrict(&w, "ct")
	// The tally rows are summed by month first (in the key's order), and
	// the columns pick their month from those thirteen sums: a CASE per
	// column on every tally row — thousands at 200 users — was most of
	// this statement's work.
	row := s.db.QueryRowContext(ctx, "SELECT "+strings.Join(cols, ", ")+
		" FROM (SELECT ct.month, SUM(ct.n) AS n FROM company_months ct"+w.SQL()+" GROUP BY ct.month) g", w.Args()...)
	n := len(edges) - 1
	tally := make([]int, n+1) // the last, the month after now, is not read
	shift := make([]int, n+1)
	dest := make([]any, 0, 2*(n+1))
	for i := range tally {
		dest = append(dest, &tally[i])
	}
	for i := range shift {
		dest = append(dest, &shift[i])
	}
	if err := row.Scan(dest...); err != nil {
		return nil, fmt.Errorf("new companies by month: %w", err)
	}
	out := make([]Period, n)
	for i := range out {
		// The companies of local month i: its UTC month's, less those the
		// edge hours give to month i-1, plus those edge i+1's give back.
		out[i] = Period{Start: edges[i], End: edges[i+1], Count: tally[i] - shift[i] + shift[i+1]}
	}
	return out, nil
}

// monthEdge is one edge of a month chart: the local midnight that starts
// a month in the viewer's zone, the UTC midnight that starts the same
// calendar month, that month's company_months key, and the hours between
// the two as a half-open range [from, to).
type monthEdge struct {
	local, utc, from, to time.Time
	month                int
}

func monthEdges(edges []time.Time) []monthEdge {
	out := make([]monthEdge, len(edges))
	for i, e := range edges {
		y, m, _ := e.Date()
		utc := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		from, to := e.UTC(), utc
		if to.Before(from) {
			from, to = to, from
		}
		out[i] = monthEdge{local: e, utc: utc, from: from, to: to, month: monthKey(e)}
	}
	return out
}

// monthKey is company_months' key of the calendar month of t in t's own
// zone: year * 12 + month - 1.
func monthKey(t time.Time) int {
	y, m, _ := t.Date()
	return y*12 + int(m) - 1
}
