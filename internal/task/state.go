package task

import "time"

// State is where a task stands for a viewer: open tasks are overdue, due
// today, due later this week or later still; closed ones are done or
// cancelled. It depends on the viewer's time zone, so it is computed when
// shown (StateAt), never stored.
type State string

// The states of a task.
const (
	StateOverdue   State = "overdue"
	StateToday     State = "today"
	StateWeek      State = "week"
	StateLater     State = "later"
	StateDone      State = "done"
	StateCancelled State = "cancelled"
)

// StateAt is the state of an open task due at `due` for a viewer in loc at
// `now`. A timed task is overdue from its due moment on (even earlier the
// same day); an all-day task (due is a floating date at 00:00 UTC) is due
// today all day and overdue only from the next day. Week is the rest of this
// Monday-to-Sunday week after today; everything beyond is later.
func StateAt(due time.Time, allDay bool, now time.Time, loc *time.Location) State {
	if loc == nil {
		loc = time.UTC
	}
	today := civilDate(now.In(loc))
	var day time.Time
	if allDay {
		day = civilDate(due.UTC())
		if day.Before(today) {
			return StateOverdue
		}
	} else {
		if due.Before(now) {
			return StateOverdue
		}
		day = civilDate(due.In(loc))
	}
	sunday := today.AddDate(0, 0, 6-mondayFirst(today.Weekday()))
	switch {
	case !day.After(today):
		return StateToday
	case !day.After(sunday):
		return StateWeek
	}
	return StateLater
}

// civilDate is t's calendar date as 00:00 UTC, for day arithmetic free of
// DST.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Label is the state's Russian name, as lists and cards show it.
func (s State) Label() string {
	switch s {
	case StateOverdue:
		return "Просрочено"
	case StateToday:
		return "Сегодня"
	case StateWeek:
		return "На неделе"
	case StateLater:
		return "Позже"
	case StateDone:
		return "Выполнена"
	case StateCancelled:
		return "Отменена"
	}
	return string(s)
}
