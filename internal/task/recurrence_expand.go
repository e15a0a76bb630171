package task

import (
	"time"

	"github.com/teambition/rrule-go"
)

// How the expansion stays fast whatever the rule (see expand):
//
//   - rrule-go works on wall-clock ("floating") times in UTC, and the result
//     is put into the viewer's zone afterwards, so 10:00 stays 10:00 across
//     DST and the library never sees a zone transition.
//   - Without COUNT, the series' start is moved forward, by whole periods, to
//     just before `after`: the same dates follow, without walking the years
//     between.
//   - rrule-go gives up only at the year 9999. The Gregorian calendar repeats
//     exactly every 400 years, so the whole computation is shifted by a
//     multiple of 400 years to end the search a bounded horizon after
//     `after`: a rule that never matches (say every 2nd year on 29 February,
//     from an odd year) ends in milliseconds instead of walking to 9999.
const (
	maxYear    = 9999 // rrule-go's MAXYEAR
	cycleYears = 400  // the Gregorian calendar's period, a whole number of weeks
	// maxHorizonYears bounds the horizon of slow rules (yearly).
	maxHorizonYears = 8000
)

// NextOccurrence is the first occurrence of the series strictly after
// `after`, or ok=false when the series has ended (COUNT/UNTIL) or has no
// occurrence within the search horizon (a few centuries, more for rare
// rules). dtstart is the series' first due moment; recurrence is computed
// in loc, so 10:00 stays 10:00 across DST. For all-day series (allDay=true)
// dtstart is a floating date stored as 00:00 UTC and results are 00:00 UTC
// dates (loc ignored). The zero Rule has no next occurrence.
func NextOccurrence(r Rule, dtstart, after time.Time, loc *time.Location, allDay bool) (time.Time, bool) {
	ts := Occurrences(r, dtstart, after, loc, allDay, 1)
	if len(ts) == 0 {
		return time.Time{}, false
	}
	return ts[0], true
}

// Occurrences lists up to n occurrences strictly after `after` (the
// builder's preview), with NextOccurrence's conventions. n is capped at 1000.
func Occurrences(r Rule, dtstart, after time.Time, loc *time.Location, allDay bool, n int) []time.Time {
	if r.IsZero() || n <= 0 || dtstart.IsZero() {
		return nil
	}
	n = min(n, 1000)
	if loc == nil || allDay {
		loc = time.UTC
	}
	// Floating wall-clock times, tagged UTC.
	startF := floating(dtstart, loc).Truncate(time.Second)
	if allDay {
		y, m, d := dtstart.UTC().Date()
		startF = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	afterF := floating(after, loc)
	if allDay {
		afterF = after.UTC()
	}
	if startF.Year() < 1 || startF.Year() > maxYear || afterF.Year() > maxYear {
		return nil
	}

	opt := r.options(startF)
	if r.count == 0 {
		// Keep two days' margin for zone offsets and DST ambiguity; the
		// instants are compared exactly below.
		opt.Dtstart = r.anchor(startF, afterF.AddDate(0, 0, -2))
	}
	switch r.untilKind {
	case untilUTC:
		opt.Until = floating(r.until, loc)
	case untilDate:
		y, m, d := r.until.Date()
		opt.Until = time.Date(y, m, d, 23, 59, 59, 0, time.UTC)
	case untilFloating:
		opt.Until = r.until
	}
	if !opt.Until.IsZero() && opt.Until.Before(opt.Dtstart) && opt.Until.Before(afterF) {
		return nil
	}

	from := max(afterF.Year(), opt.Dtstart.Year())
	shift := (maxYear - r.horizonYears() - from) / cycleYears * cycleYears
	shift = max(shift, 0)
	opt.Dtstart = opt.Dtstart.AddDate(shift, 0, 0)
	if !opt.Until.IsZero() {
		opt.Until = opt.Until.AddDate(shift, 0, 0)
	}

	rr, err := rrule.NewRRule(opt)
	if err != nil {
		return nil // ParseRule keeps the options within rrule-go's bounds
	}
	next := rr.Iterator()
	var out []time.Time
	for len(out) < n {
		t, ok := next()
		if !ok {
			break
		}
		t = t.AddDate(-shift, 0, 0)
		at := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
		if at.After(after) {
			out = append(out, at)
		}
	}
	return out
}

// floating is t's wall clock in loc, as a UTC time.
func floating(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// horizonYears is how far past `after` the search for the next occurrence
// goes: a number of the rule's periods (days, weeks, …) that rrule-go walks
// in a few milliseconds (a month costs it far more than a day), within 1 and
// maxHorizonYears years.
func (r Rule) horizonYears() int {
	var years int
	switch r.freq {
	case Daily:
		years = 60000 * r.interval / 365
	case Weekly:
		years = 60000 * 7 * r.interval / 365
	case Monthly:
		years = 3000 * r.interval / 12
	default:
		years = 2000 * r.interval
	}
	return min(max(years, 1), maxHorizonYears)
}

// options are rrule-go's options for r starting at start, with the
// defaults rrule-go would take from the start written out, so that the
// start may move (anchor) without changing the dates.
func (r Rule) options(start time.Time) rrule.ROption {
	opt := rrule.ROption{
		Freq:       map[Freq]rrule.Frequency{Daily: rrule.DAILY, Weekly: rrule.WEEKLY, Monthly: rrule.MONTHLY, Yearly: rrule.YEARLY}[r.freq],
		Dtstart:    start,
		Interval:   r.interval,
		Count:      r.count,
		Wkst:       rruleDay(r.wkst, 0),
		Bysetpos:   r.bySetPos,
		Bymonth:    r.byMonth,
		Bymonthday: r.byMonthDay,
	}
	if !r.hasWkst {
		opt.Wkst = rrule.MO
	}
	for _, d := range r.byDay {
		opt.Byweekday = append(opt.Byweekday, rruleDay(d.Day, d.N))
	}
	if len(r.byDay) == 0 && len(r.byMonthDay) == 0 {
		switch r.freq {
		case Weekly:
			opt.Byweekday = []rrule.Weekday{rruleDay(start.Weekday(), 0)}
		case Monthly:
			opt.Bymonthday = []int{start.Day()}
		case Yearly:
			opt.Bymonthday = []int{start.Day()}
			if len(r.byMonth) == 0 {
				opt.Bymonth = []int{int(start.Month())}
			}
		}
	}
	return opt
}

// anchor moves start forward by whole periods of the rule (INTERVAL days,
// weeks, months or years) to the last period boundary not after target.
// Only for rules without COUNT, whose dates do not depend on how many came
// before; options must have been built from the original start.
func (r Rule) anchor(start, target time.Time) time.Time {
	if !target.After(start) {
		return start
	}
	h, mi, s := start.Clock()
	switch r.freq {
	case Daily:
		k := int(target.Sub(start).Hours()/24) / r.interval
		return start.AddDate(0, 0, k*r.interval)
	case Weekly:
		k := int(target.Sub(start).Hours()/24) / (7 * r.interval)
		return start.AddDate(0, 0, 7*k*r.interval)
	case Monthly:
		months := (target.Year()-start.Year())*12 + int(target.Month()) - int(start.Month())
		k := months / r.interval
		if k == 0 {
			return start
		}
		return time.Date(start.Year(), start.Month()+time.Month(k*r.interval), 1, h, mi, s, 0, time.UTC)
	case Yearly:
		k := (target.Year() - start.Year()) / r.interval
		if k == 0 {
			return start
		}
		return time.Date(start.Year()+k*r.interval, time.January, 1, h, mi, s, 0, time.UTC)
	}
	return start
}

func rruleDay(d time.Weekday, n int) rrule.Weekday {
	w := [7]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}[d]
	if n != 0 {
		return w.Nth(n)
	}
	return w
}
