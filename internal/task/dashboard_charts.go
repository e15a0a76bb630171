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
	sums := bucketSums(&w, "t.completed_at", edges)
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
func (s *Store) NewCompaniesByMonth(ctx context.Context, sc access.Scope, now time.Time, loc *time.Location, months int) ([]Period, error) {
	if loc == nil {
		loc = s.def
	}
	edges := MonthStarts(now, loc, min(max(months, 1), MaxChartMonths))
	var w database.Where
	sums := bucketSums(&w, "c.created_at", edges)
	w.Add("c.deleted_at IS NULL")
	w.Add("c.created_at >= ? AND c.created_at < ?", edges[0].UTC(), edges[len(edges)-1].UTC())
	sc.Restrict(&w, "c")
	out, err := periods(s.db.QueryRowContext(ctx, "SELECT "+sums+" FROM companies c"+w.SQL(), w.Args()...), edges)
	if err != nil {
		return nil, fmt.Errorf("new companies by month: %w", err)
	}
	return out, nil
}
