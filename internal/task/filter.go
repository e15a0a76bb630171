package task

import (
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// Bounds are the edges of a viewer's day and week as instants, for the
// state filters in SQL: timed tasks compare with the instants, all-day
// tasks (stored as their date at 00:00 UTC) with the dates.
type Bounds struct {
	Now      time.Time // the instant the states are for
	Tomorrow time.Time // start of tomorrow in the viewer's zone
	WeekEnd  time.Time // start of next Monday in the viewer's zone
	// The same days as floating dates (00:00 UTC of the local date).
	TodayDate, TomorrowDate, WeekEndDate time.Time
}

// boundsAt computes Bounds for now in loc. Days are stepped by the
// calendar (AddDate), so a DST change makes a 23- or 25-hour day, not a
// shifted midnight.
func boundsAt(now time.Time, loc *time.Location) Bounds {
	local := now.In(loc)
	y, m, d := local.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	toMonday := (8 - int(today.Weekday())) % 7
	if toMonday == 0 {
		toMonday = 7
	}
	date := func(days int) time.Time { return time.Date(y, m, d+days, 0, 0, 0, 0, time.UTC) }
	return Bounds{
		Now:          now,
		Tomorrow:     time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC(),
		WeekEnd:      time.Date(y, m, d+toMonday, 0, 0, 0, 0, loc).UTC(),
		TodayDate:    date(0),
		TomorrowDate: date(1),
		WeekEndDate:  date(toMonday),
	}
}

// BoundsAt is boundsAt for other code of the product (the desk).
func BoundsAt(now time.Time, loc *time.Location) Bounds { return boundsAt(now, loc) }

// OpenSQL is the condition of an open task; t is the tasks alias.
func OpenSQL(t string) string { return t + ".status IN ('new', 'in_progress')" }

// AddState limits w to the tasks of t (alias) in state for the viewer at
// b: "overdue", "today", "week", "later", "done", "cancelled", or "open"
// (every open task). It reports false for an unknown state.
//
// Each dated state is also bounded by one plain range of due_at — from
// the earlier of its two starts to the later of its two ends — that an
// index on (assigned_to, due_at) or (due_at) can seek to: the exact
// condition alone is an OR the planners cannot range over, and «на
// сегодня» would walk all of a busy manager's overdue tasks to find
// today's.
func (b Bounds) AddState(w *database.Where, t, state string) bool {
	now, tom, wk := b.Now.UTC().Truncate(time.Microsecond), b.Tomorrow, b.WeekEnd
	td, tmd, wkd := b.TodayDate, b.TomorrowDate, b.WeekEndDate
	timed, allDay := "NOT "+t+".all_day", t+".all_day"
	due := t + ".due_at"
	switch state {
	case "open":
		w.Add(OpenSQL(t))
	case "overdue":
		w.Add(OpenSQL(t))
		w.Add(due+" < ?", later(now, td))
		w.Add("(("+timed+" AND "+due+" < ?) OR ("+allDay+" AND "+due+" < ?))", now, td)
	case "today":
		w.Add(OpenSQL(t))
		w.Add(due+" >= ? AND "+due+" < ?", earlier(now, td), later(tom, tmd))
		w.Add("(("+timed+" AND "+due+" >= ? AND "+due+" < ?) OR ("+allDay+" AND "+due+" >= ? AND "+due+" < ?))",
			now, tom, td, tmd)
	case "week":
		w.Add(OpenSQL(t))
		w.Add(due+" >= ? AND "+due+" < ?", earlier(tom, tmd), later(wk, wkd))
		w.Add("(("+timed+" AND "+due+" >= ? AND "+due+" < ?) OR ("+allDay+" AND "+due+" >= ? AND "+due+" < ?))",
			tom, wk, tmd, wkd)
	case "later":
		w.Add(OpenSQL(t))
		w.Add(due+" >= ?", earlier(wk, wkd))
		w.Add("(("+timed+" AND "+due+" >= ?) OR ("+allDay+" AND "+due+" >= ?))", wk, wkd)
	case "done":
		w.Add(t + ".status = 'done'")
	case "cancelled":
		w.Add(t + ".status = 'cancelled'")
	default:
		return false
	}
	return true
}

// earlier and later pick one of an instant and a floating date, the
// edges of a state's due_at range.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
