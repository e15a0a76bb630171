package calendar

import (
	"fmt"
	"sort"
	"time"
)

// zones lists the time zones the timed events are written in, by name.
func zones(events []Event) []*time.Location {
	seen := map[string]*time.Location{}
	for _, e := range events {
		if loc := e.Start.Location(); !e.AllDay && !isUTC(loc) {
			seen[loc.String()] = loc
		}
	}
	out := make([]*time.Location, 0, len(seen))
	for _, loc := range seen {
		out = append(out, loc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// span is the period the VTIMEZONEs must cover: from the start of the
// year of the earliest event to the end of the year after the latest
// event or the feed's stamp, whichever is later.
func span(f Feed) (from, to time.Time) {
	first, last := f.Stamp, f.Stamp
	for _, e := range f.Events {
		if e.Start.Before(first) {
			first = e.Start
		}
		if e.Start.After(last) {
			last = e.Start
		}
	}
	return time.Date(first.Year(), 1, 1, 0, 0, 0, 0, time.UTC), time.Date(last.Year()+2, 1, 1, 0, 0, 0, 0, time.UTC)
}

// transition is one change of a zone's offset.
type transition struct {
	at       time.Time // the instant of the change
	from, to int       // offsets in seconds east of UTC, before and after
	name     string    // the abbreviation after
	dst      bool      // daylight saving time after
}

func transitions(loc *time.Location, from, to time.Time) []transition {
	var out []transition
	t := from.In(loc)
	for range 1000 {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		_, before := end.Add(-time.Second).Zone()
		name, after := end.Zone()
		if before != after {
			out = append(out, transition{at: end, from: before, to: after, name: name, dst: end.IsDST()})
		}
		t = end
	}
	return out
}

// writeTimezone writes loc's VTIMEZONE for the period [from, to): one
// observance per offset change in it, and the changes of its last year
// repeated yearly after it (by their weekday rule, "last Sunday of
// March"), so a recurring event keeps the right local time however far a
// phone expands it.
func writeTimezone(lw *lineWriter, loc *time.Location, from, to time.Time) {
	lw.line("BEGIN:VTIMEZONE")
	lw.line("TZID:" + loc.String())
	ts := transitions(loc, from, to)
	// The observance in force when the period begins (the only one of a
	// zone without changes, as Russia's since 2014).
	start := from.In(loc)
	name, off := start.Zone()
	kind := "STANDARD"
	if start.IsDST() {
		kind = "DAYLIGHT"
	}
	lw.line("BEGIN:" + kind)
	lw.line("DTSTART:" + start.Format("20060102T150405"))
	lw.line("TZOFFSETFROM:" + offset(off))
	lw.line("TZOFFSETTO:" + offset(off))
	lw.line("TZNAME:" + escapeText(name))
	lw.line("END:" + kind)
	if len(ts) == 0 {
		lw.line("END:VTIMEZONE")
		return
	}
	// The changes of the last year that has any repeat yearly when there
	// are two of them (into and out of summer time); the earlier ones are
	// written one by one.
	lastYear := ts[len(ts)-1].at.Year()
	repeat := 0
	for i := len(ts) - 1; i >= 0 && ts[i].at.Year() == lastYear; i-- {
		repeat++
	}
	if repeat != 2 {
		repeat = 0
	}
	for i, tr := range ts {
		kind = "STANDARD"
		if tr.dst {
			kind = "DAYLIGHT"
		}
		lw.line("BEGIN:" + kind)
		// DTSTART of an observance is the local time before the change.
		onset := tr.at.Add(time.Duration(tr.from) * time.Second).UTC()
		lw.line("DTSTART:" + onset.Format("20060102T150405"))
		if i >= len(ts)-repeat {
			lw.line("RRULE:" + yearlyRule(onset))
		}
		lw.line("TZOFFSETFROM:" + offset(tr.from))
		lw.line("TZOFFSETTO:" + offset(tr.to))
		lw.line("TZNAME:" + escapeText(tr.name))
		lw.line("END:" + kind)
	}
	lw.line("END:VTIMEZONE")
}

// yearlyRule is the rule that repeats a change made on onset's weekday
// of its month every year: the last such weekday when onset is in the
// month's last week, else the n-th.
func yearlyRule(onset time.Time) string {
	days := time.Date(onset.Year(), onset.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	ord := (onset.Day()-1)/7 + 1
	if onset.Day()+7 > days {
		ord = -1
	}
	wd := [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}[onset.Weekday()]
	return fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", int(onset.Month()), ord, wd)
}

// offset writes seconds east of UTC as an RFC 5545 UTC-OFFSET (+0300).
func offset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	s := fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}
