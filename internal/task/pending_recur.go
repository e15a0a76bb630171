package task

// TEMPORARY: stand-ins for helper "recur"'s ParseRule / Describe /
// NextOccurrence / StateAt until branch i7-recur is merged; replaced then.

import (
	"time"
)

func stateOf(t *Task, now time.Time, loc *time.Location) string {
	if !t.Status.Open() {
		return string(t.Status)
	}
	b := boundsAt(now, loc)
	due := t.DueAt
	if t.AllDay {
		switch {
		case due.Before(b.TodayDate):
			return "overdue"
		case due.Equal(b.TodayDate):
			return "today"
		case due.Before(b.WeekEndDate):
			return "week"
		}
		return "later"
	}
	switch {
	case due.Before(now):
		return "overdue"
	case due.Before(b.Tomorrow):
		return "today"
	case due.Before(b.WeekEnd):
		return "week"
	}
	return "later"
}

func ruleText(rule string) string { return rule }

func checkRule(rule string) (string, error) { return rule, nil }

func nextOccurrence(rule string, start, after time.Time, loc *time.Location, allDay bool) (time.Time, bool) {
	_ = rule
	_ = loc
	_ = allDay
	d := start
	for !d.After(after) {
		d = d.AddDate(0, 0, 1)
	}
	return d, true
}
