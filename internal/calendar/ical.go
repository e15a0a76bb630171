// Package calendar is a user's private iCalendar (RFC 5545) feed of their
// open tasks: the feed tokens (Feeds) and the writer of the feed (Write).
//
// Tasks are written as VEVENT, not VTODO: the phone calendars people
// subscribe from show only events. iOS Calendar ignores VTODO in a
// subscribed calendar (Reminders cannot subscribe to a URL), and Google
// Calendar drops VTODO on import and subscription alike; a VTODO feed
// would look empty on both. A task due at a time is a 30-minute event at
// that time; a whole-day task is an all-day event.
package calendar

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one task as the feed shows it.
type Event struct {
	// UID identifies the event across refreshes: one per task, or one per
	// recurring series, so the phone updates it rather than adding another.
	UID         string
	Summary     string
	Description string
	// URL is the task's page; it is also added to the description, which
	// every calendar shows (few show URL).
	URL string
	// Start is the due time; for a timed event its Location is the zone
	// the event is written in (UTC, or a TZID with its VTIMEZONE).
	Start time.Time
	// AllDay makes a whole-day event on Start's date.
	AllDay bool
	// Duration of a timed event; 0 means DefaultDuration.
	Duration time.Duration
	// RRule is the recurrence rule without the "RRULE:" prefix, "" for a
	// single task; its COUNT must count from Start.
	RRule string
	// Created and Modified are the task's creation and last change.
	Created, Modified time.Time
	// Urgent tasks get PRIORITY:1.
	Urgent bool
}

// DefaultDuration is the length of a timed task's event.
const DefaultDuration = 30 * time.Minute

// Feed is a whole calendar.
type Feed struct {
	// Name is shown by the calendar app as the calendar's name.
	Name string
	// Stamp is DTSTAMP of every event: when the feed was written.
	Stamp  time.Time
	Events []Event
}

// Write writes f as an iCalendar stream: CRLF line ends, lines folded at
// 75 octets (never inside a UTF-8 sequence), text escaped per RFC 5545
// §3.3.11, and a VTIMEZONE for every zone an event names.
func Write(w io.Writer, f Feed) error {
	lw := &lineWriter{w: bufio.NewWriter(w)}
	lw.line("BEGIN:VCALENDAR")
	lw.line("VERSION:2.0")
	lw.line("PRODID:-//CRM PROFI//Tasks//RU")
	lw.line("CALSCALE:GREGORIAN")
	lw.line("METHOD:PUBLISH")
	if f.Name != "" {
		lw.line("X-WR-CALNAME:" + escapeText(f.Name))
	}
	// How often a subscriber should look again (Apple and Google read
	// one or the other; both are hints).
	lw.line("REFRESH-INTERVAL;VALUE=DURATION:PT15M")
	lw.line("X-PUBLISHED-TTL:PT15M")
	from, to := span(f)
	for _, loc := range zones(f.Events) {
		writeTimezone(lw, loc, from, to)
	}
	for _, e := range f.Events {
		writeEvent(lw, e, f.Stamp)
	}
	lw.line("END:VCALENDAR")
	if lw.err != nil {
		return lw.err
	}
	return lw.w.Flush()
}

func writeEvent(lw *lineWriter, e Event, stamp time.Time) {
	lw.line("BEGIN:VEVENT")
	lw.line("UID:" + escapeText(e.UID))
	lw.line("DTSTAMP:" + utcStamp(stamp))
	switch {
	case e.AllDay:
		lw.line("DTSTART;VALUE=DATE:" + e.Start.Format("20060102"))
		lw.line("DTEND;VALUE=DATE:" + e.Start.AddDate(0, 0, 1).Format("20060102"))
		// An all-day task reminds, it does not fill the day.
		lw.line("TRANSP:TRANSPARENT")
	case isUTC(e.Start.Location()):
		lw.line("DTSTART:" + utcStamp(e.Start))
		lw.line("DURATION:" + duration(e.Duration))
	default:
		lw.line("DTSTART;TZID=" + e.Start.Location().String() + ":" + e.Start.Format("20060102T150405"))
		lw.line("DURATION:" + duration(e.Duration))
	}
	if e.RRule != "" {
		lw.line("RRULE:" + e.RRule)
	}
	lw.line("SUMMARY:" + escapeText(e.Summary))
	desc := e.Description
	if e.URL != "" {
		if desc != "" {
			desc += "\n\n"
		}
		desc += e.URL
		lw.line("URL:" + e.URL)
	}
	if desc != "" {
		lw.line("DESCRIPTION:" + escapeText(desc))
	}
	if e.Urgent {
		lw.line("PRIORITY:1")
	}
	if !e.Created.IsZero() {
		lw.line("CREATED:" + utcStamp(e.Created))
	}
	if !e.Modified.IsZero() {
		lw.line("LAST-MODIFIED:" + utcStamp(e.Modified))
	}
	lw.line("END:VEVENT")
}

func utcStamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func isUTC(loc *time.Location) bool { return loc == nil || loc == time.UTC || loc.String() == "UTC" }

// duration writes d as an RFC 5545 DURATION (PT30M, PT1H30M).
func duration(d time.Duration) string {
	if d <= 0 {
		d = DefaultDuration
	}
	d = d.Round(time.Second)
	var b strings.Builder
	b.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		d -= m * time.Minute
	}
	if sec := d / time.Second; sec > 0 {
		fmt.Fprintf(&b, "%dS", sec)
	}
	return b.String()
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash,
// semicolon, comma and line breaks; other control characters, which the
// format does not allow, are dropped.
func escapeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ';':
			b.WriteString(`\;`)
		case r == ',':
			b.WriteString(`\,`)
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue // CRLF is one break
			}
			b.WriteString(`\n`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || r == utf8.RuneError && size == 1:
			// not allowed in a TEXT value
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lineWriter writes content lines, folded at 75 octets and ended by CRLF.
type lineWriter struct {
	w   *bufio.Writer
	err error
}

// maxOctets is the longest a physical line may be, CRLF not counted.
const maxOctets = 75

func (lw *lineWriter) line(s string) {
	if lw.err != nil {
		return
	}
	limit := maxOctets
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut-- // never split a character's bytes
		}
		lw.write(s[:cut])
		lw.write("\r\n ")
		s = s[cut:]
		limit = maxOctets - 1 // the leading space counts
	}
	lw.write(s)
	lw.write("\r\n")
}

func (lw *lineWriter) write(s string) {
	if lw.err == nil {
		_, lw.err = lw.w.WriteString(s)
	}
}
