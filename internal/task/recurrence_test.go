package task

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/crmprofi/crm/internal/apperr"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func mustRule(t testing.TB, s string) Rule {
	t.Helper()
	r, err := ParseRule(s)
	if err != nil {
		t.Fatalf("ParseRule(%q): %v", s, err)
	}
	return r
}

func TestParseRuleCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"an empty rule means no recurrence", "", ""},
		{"blank text means no recurrence", "   ", ""},
		{"a plain daily rule stays as it is", "FREQ=DAILY", "FREQ=DAILY"},
		{"lowercase is accepted and parts are reordered", "byday=th,tu;interval=2;freq=weekly", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH"},
		{"a leading RRULE: and the defaults are dropped", "RRULE:FREQ=DAILY;INTERVAL=1;WKST=MO", "FREQ=DAILY"},
		{"a non-default week start is kept", "FREQ=WEEKLY;WKST=SU;INTERVAL=2", "FREQ=WEEKLY;INTERVAL=2;WKST=SU"},
		{"ordinals and month days are kept with their signs", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"},
		{"month days are sorted, last ones after", "FREQ=MONTHLY;BYMONTHDAY=-1,15,1,15", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1"},
		{"a set position is kept", "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR,MO,TU,WE,TH", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"},
		{"UNTIL as a date stays a date", "FREQ=DAILY;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261231"},
		{"UNTIL in UTC stays in UTC", "FREQ=DAILY;UNTIL=20261231T205959Z", "FREQ=DAILY;UNTIL=20261231T205959Z"},
		{"a yearly rule with months and days", "FREQ=YEARLY;BYMONTHDAY=29;BYMONTH=2;COUNT=3", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3"},
		{"spaces and a trailing semicolon are tolerated", " FREQ = DAILY ; COUNT = 5 ; ", "FREQ=DAILY;COUNT=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRule(tt.in)
			if err != nil {
				t.Fatalf("ParseRule(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if r.IsZero() != (tt.want == "") {
				t.Errorf("IsZero() = %v", r.IsZero())
			}
			again := mustRule(t, r.String())
			if !again.Equal(r) {
				t.Errorf("round trip changed the rule: %q → %q", r, again)
			}
		})
	}
}

func TestParseRuleRefuses(t *testing.T) {
	tests := []struct {
		name, in, part, msg string
	}{
		{"an unknown weekday is named", "FREQ=WEEKLY;BYDAY=XX", "BYDAY", "BYDAY: неизвестный день недели «XX»"},
		{"a missing FREQ is refused", "INTERVAL=2", "FREQ", "FREQ: частота не указана"},
		{"an hourly rule is refused", "FREQ=HOURLY", "FREQ", "FREQ: повторение чаще раза в день не поддерживается"},
		{"a secondly rule is refused", "FREQ=SECONDLY;INTERVAL=1", "FREQ", ""},
		{"an unknown frequency is refused", "FREQ=FORTNIGHTLY", "FREQ", ""},
		{"COUNT with UNTIL is refused", "FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT", "COUNT: нельзя указывать вместе с UNTIL"},
		{"an interval over 1000 is refused", "FREQ=DAILY;INTERVAL=1001", "INTERVAL", "INTERVAL: число должно быть от 1 до 1000"},
		{"a zero interval is refused", "FREQ=DAILY;INTERVAL=0", "INTERVAL", ""},
		{"a non-numeric interval is refused", "FREQ=DAILY;INTERVAL=two", "INTERVAL", ""},
		{"a zero count is refused", "FREQ=DAILY;COUNT=0", "COUNT", ""},
		{"a huge count is refused", "FREQ=DAILY;COUNT=99999999999999999999", "COUNT", ""},
		{"an unknown part is named", "FREQ=DAILY;FOO=1", "FOO", "FOO: неизвестная часть правила"},
		{"an unsupported part is named", "FREQ=DAILY;BYHOUR=9", "BYHOUR", ""},
		{"a part given twice is refused", "FREQ=DAILY;FREQ=WEEKLY", "FREQ", ""},
		{"a part without a value is refused", "FREQ=DAILY;COUNT=", "COUNT", ""},
		{"text that is not a rule is refused", "каждый день", "каждый день", ""},
		{"the 31st of February never comes", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31", "BYMONTHDAY", "BYMONTHDAY: в выбранных месяцах нет такого числа"},
		{"the 31st of April and June never comes", "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31,-31", "BYMONTHDAY", ""},
		{"month day zero is refused", "FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY", ""},
		{"month day 32 is refused", "FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY", ""},
		{"month 13 is refused", "FREQ=YEARLY;BYMONTH=13", "BYMONTH", ""},
		{"an ordinal weekday in a weekly rule is refused", "FREQ=WEEKLY;BYDAY=1MO", "BYDAY", ""},
		{"a sixth Monday of a month is refused", "FREQ=MONTHLY;BYDAY=6MO", "BYDAY", ""},
		{"ordinal zero is refused", "FREQ=MONTHLY;BYDAY=0MO", "BYDAY", ""},
		{"a month day in a weekly rule is refused", "FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY", ""},
		{"a set position alone is refused", "FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS", ""},
		{"a set position of zero is refused", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS", ""},
		{"a malformed UNTIL is refused", "FREQ=DAILY;UNTIL=2026", "UNTIL", ""},
		{"an impossible UNTIL date is refused", "FREQ=DAILY;UNTIL=20260230", "UNTIL", ""},
		{"a bad week start is refused", "FREQ=WEEKLY;WKST=XY", "WKST", ""},
		{"a rule over 1 KB is refused", "FREQ=DAILY;BYMONTH=" + strings.Repeat("1,", 600) + "1", "RRULE", "RRULE: правило длиннее 1024 символов"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRule(tt.in)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("ParseRule(%q) error = %v, want a *RuleError", tt.in, err)
			}
			if re.Part != tt.part {
				t.Errorf("Part = %q, want %q (message %q)", re.Part, tt.part, re.Message)
			}
			if !strings.HasPrefix(re.Message, tt.part+": ") {
				t.Errorf("Message %q does not start with the part", re.Message)
			}
			if tt.msg != "" && re.Message != tt.msg {
				t.Errorf("Message = %q, want %q", re.Message, tt.msg)
			}
			inv, ok := apperr.AsInvalid(err)
			if !ok || inv[RuleField] != re.Message {
				t.Errorf("AsInvalid = %v, %v; want {%s: %q}", inv, ok, RuleField, re.Message)
			}
		})
	}
}

func TestNextOccurrence(t *testing.T) {
	msk := mustZone(t, "Europe/Moscow")
	d := func(y int, m time.Month, day, h, mi int) time.Time { return time.Date(y, m, day, h, mi, 0, 0, msk) }
	tests := []struct {
		name           string
		rule           string
		dtstart, after time.Time
		want           time.Time // zero: the series has ended
	}{
		{"the 31st monthly skips February", "FREQ=MONTHLY", d(2026, 1, 31, 10, 0), d(2026, 1, 31, 10, 0), d(2026, 3, 31, 10, 0)},
		{"the 31st monthly skips April", "FREQ=MONTHLY;BYMONTHDAY=31", d(2026, 1, 31, 10, 0), d(2026, 3, 31, 10, 0), d(2026, 5, 31, 10, 0)},
		{"the last day of the month is February's 28th", "FREQ=MONTHLY;BYMONTHDAY=-1", d(2026, 1, 31, 10, 0), d(2026, 1, 31, 10, 0), d(2026, 2, 28, 10, 0)},
		{"29 February yearly waits for a leap year", "FREQ=YEARLY", d(2024, 2, 29, 9, 0), d(2024, 2, 29, 9, 0), d(2028, 2, 29, 9, 0)},
		{"29 February yearly by parts waits for a leap year", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", d(2024, 2, 29, 9, 0), d(2025, 1, 1, 0, 0), d(2028, 2, 29, 9, 0)},
		{"the last Friday of the month", "FREQ=MONTHLY;BYDAY=-1FR", d(2026, 1, 30, 10, 0), d(2026, 1, 30, 10, 0), d(2026, 2, 27, 10, 0)},
		{"the second Tuesday of the month", "FREQ=MONTHLY;BYDAY=2TU", d(2026, 1, 13, 10, 0), d(2026, 1, 13, 10, 0), d(2026, 2, 10, 10, 0)},
		{"the last workday of a month ending on a Saturday", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", d(2026, 1, 30, 10, 0), d(2026, 1, 30, 10, 0), d(2026, 2, 27, 10, 0)},
		{"the last workday of a month ending on a Tuesday", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", d(2026, 1, 30, 10, 0), d(2026, 2, 27, 10, 0), d(2026, 3, 31, 10, 0)},
		{"the last workday of a month ending on a Sunday", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", d(2026, 1, 30, 10, 0), d(2026, 4, 30, 10, 0), d(2026, 5, 29, 10, 0)},
		{"COUNT gives the last occurrence", "FREQ=DAILY;COUNT=3", d(2026, 1, 1, 10, 0), d(2026, 1, 2, 10, 0), d(2026, 1, 3, 10, 0)},
		{"COUNT ends the series", "FREQ=DAILY;COUNT=3", d(2026, 1, 1, 10, 0), d(2026, 1, 3, 10, 0), time.Time{}},
		{"COUNT ends a series completed late", "FREQ=WEEKLY;COUNT=4", d(2026, 1, 5, 10, 0), d(2026, 3, 1, 10, 0), time.Time{}},
		{"UNTIL as a date includes that day", "FREQ=WEEKLY;UNTIL=20260115", d(2026, 1, 1, 10, 0), d(2026, 1, 8, 10, 0), d(2026, 1, 15, 10, 0)},
		{"UNTIL as a date ends the series", "FREQ=WEEKLY;UNTIL=20260115", d(2026, 1, 1, 10, 0), d(2026, 1, 15, 10, 0), time.Time{}},
		{"UNTIL in UTC is inclusive", "FREQ=DAILY;UNTIL=20260103T070000Z", d(2026, 1, 1, 10, 0), d(2026, 1, 2, 10, 0), d(2026, 1, 3, 10, 0)},
		{"UNTIL in UTC ends the series", "FREQ=DAILY;UNTIL=20260103T065959Z", d(2026, 1, 1, 10, 0), d(2026, 1, 2, 10, 0), time.Time{}},
		{"a daily task completed weeks late goes to the next future day", "FREQ=DAILY", d(2026, 1, 1, 10, 0), d(2026, 3, 15, 14, 30), d(2026, 3, 16, 10, 0)},
		{"a daily task completed late before its hour stays today", "FREQ=DAILY", d(2026, 1, 1, 10, 0), d(2026, 3, 15, 9, 30), d(2026, 3, 15, 10, 0)},
		{"every third day completed late keeps its phase", "FREQ=DAILY;INTERVAL=3", d(2026, 1, 1, 10, 0), d(2026, 3, 1, 12, 0), d(2026, 3, 2, 10, 0)},
		{"a weekly task completed late goes to the next Monday", "FREQ=WEEKLY;BYDAY=MO", d(2026, 1, 5, 10, 0), d(2026, 3, 11, 10, 0), d(2026, 3, 16, 10, 0)},
		{"every other week completed late keeps its weeks", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", d(2026, 1, 6, 10, 0), d(2026, 3, 11, 10, 0), d(2026, 3, 17, 10, 0)},
		{"every other week with Sunday week start", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU", d(2026, 1, 4, 10, 0), d(2026, 1, 5, 10, 0), d(2026, 1, 18, 10, 0)},
		{"every third month on the 31st completed late", "FREQ=MONTHLY;INTERVAL=3", d(2025, 1, 31, 10, 0), d(2026, 2, 10, 10, 0), d(2026, 7, 31, 10, 0)},
		{"every fourth year on 29 February completed late", "FREQ=YEARLY;INTERVAL=4", d(2024, 2, 29, 9, 0), d(2030, 6, 1, 0, 0), d(2032, 2, 29, 9, 0)},
		{"a query before the start gives the first occurrence", "FREQ=WEEKLY;BYDAY=MO", d(2026, 1, 5, 10, 0), d(2025, 12, 1, 0, 0), d(2026, 1, 5, 10, 0)},
		{"a start off the rule is not an occurrence", "FREQ=WEEKLY;BYDAY=TU", d(2026, 1, 5, 10, 0), d(2026, 1, 1, 0, 0), d(2026, 1, 6, 10, 0)},
		{"a yearly rule on the last Friday of November", "FREQ=YEARLY;BYMONTH=11;BYDAY=-1FR", d(2026, 11, 27, 10, 0), d(2026, 11, 27, 10, 0), d(2027, 11, 26, 10, 0)},
		{"a rule that never matches ends", "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", d(2025, 2, 1, 10, 0), d(2025, 2, 1, 10, 0), time.Time{}},
		{"a daily rule off its weekday never matches", "FREQ=DAILY;INTERVAL=7;BYDAY=TU", d(2026, 1, 5, 10, 0), d(2026, 1, 5, 10, 0), time.Time{}},
		{"the first Monday on the 15th never comes", "FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=15", d(2026, 1, 5, 10, 0), d(2026, 1, 5, 10, 0), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, tt.rule)
			start := time.Now()
			got, ok := NextOccurrence(r, tt.dtstart, tt.after, msk, false)
			if took := time.Since(start); took > slowFactor*250*time.Millisecond {
				t.Errorf("took %v", took)
			}
			if tt.want.IsZero() {
				if ok {
					t.Fatalf("NextOccurrence = %v, want the series ended", got)
				}
				return
			}
			if !ok || !got.Equal(tt.want) {
				t.Fatalf("NextOccurrence = %v, %v; want %v", got, ok, tt.want)
			}
			if got.Location() != msk {
				t.Errorf("result in %v, want %v", got.Location(), msk)
			}
		})
	}
}

func TestNextOccurrenceKeepsWallClockAcrossDST(t *testing.T) {
	tests := []struct {
		name    string
		zone    string
		rule    string
		dtstart string // local wall clock
		wantUTC string
	}{
		{"Berlin daily into summer time", "Europe/Berlin", "FREQ=DAILY", "2026-03-28T10:00", "2026-03-29T08:00:00Z"},
		{"Berlin daily into winter time", "Europe/Berlin", "FREQ=DAILY", "2026-10-24T10:00", "2026-10-25T09:00:00Z"},
		{"Berlin monthly across the spring switch", "Europe/Berlin", "FREQ=MONTHLY", "2026-03-15T10:00", "2026-04-15T08:00:00Z"},
		{"New York weekly into daylight time", "America/New_York", "FREQ=WEEKLY", "2026-03-02T10:00", "2026-03-09T14:00:00Z"},
		{"New York weekly into standard time", "America/New_York", "FREQ=WEEKLY", "2026-10-26T10:00", "2026-11-02T15:00:00Z"},
		{"Moscow has no switch", "Europe/Moscow", "FREQ=DAILY", "2026-03-28T10:00", "2026-03-29T07:00:00Z"},
		{"Yekaterinburg has no switch", "Asia/Yekaterinburg", "FREQ=DAILY", "2026-10-24T09:00", "2026-10-25T04:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			start, err := time.ParseInLocation("2006-01-02T15:04", tt.dtstart, loc)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := NextOccurrence(mustRule(t, tt.rule), start, start, loc, false)
			if !ok || got.UTC().Format(time.RFC3339) != tt.wantUTC {
				t.Fatalf("NextOccurrence = %v, %v; want %s", got.UTC(), ok, tt.wantUTC)
			}
			if h, m, _ := got.Clock(); h != start.Hour() || m != start.Minute() {
				t.Errorf("local time %02d:%02d, want %02d:%02d", h, m, start.Hour(), start.Minute())
			}
		})
	}
}

func TestNextOccurrenceAllDay(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name           string
		rule           string
		dtstart, after time.Time
		want           time.Time
	}{
		{"an all-day 31st skips February", "FREQ=MONTHLY", day(2026, 1, 31), time.Date(2026, 2, 15, 10, 0, 0, 0, time.UTC), day(2026, 3, 31)},
		{"an all-day daily series gives the next date", "FREQ=DAILY", day(2026, 3, 7), day(2026, 3, 7), day(2026, 3, 8)},
		{"an all-day weekly series ignores the zone's switch", "FREQ=WEEKLY;BYDAY=SU", day(2026, 3, 1), day(2026, 3, 1), day(2026, 3, 8)},
		{"an all-day series ends with its UNTIL date", "FREQ=DAILY;UNTIL=20260308", day(2026, 3, 7), day(2026, 3, 8), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NextOccurrence(mustRule(t, tt.rule), tt.dtstart, tt.after, ny, true)
			if tt.want.IsZero() {
				if ok {
					t.Fatalf("NextOccurrence = %v, want the series ended", got)
				}
				return
			}
			if !ok || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("NextOccurrence = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

func TestOccurrences(t *testing.T) {
	ekb := mustZone(t, "Asia/Yekaterinburg")
	start := time.Date(2026, 1, 6, 9, 0, 0, 0, ekb) // a Tuesday
	r := mustRule(t, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=5")
	t.Run("the preview lists the first dates from the start", func(t *testing.T) {
		got := Occurrences(r, start, start.Add(-time.Second), ekb, false, 5)
		want := []string{"2026-01-06", "2026-01-08", "2026-01-20", "2026-01-22", "2026-02-03"}
		if len(got) != len(want) {
			t.Fatalf("got %v", got)
		}
		for i := range want {
			if got[i].Format("2006-01-02") != want[i] || got[i].Hour() != 9 {
				t.Errorf("occurrence %d = %v, want %s 09:00", i, got[i], want[i])
			}
		}
	})
	t.Run("the preview stops where COUNT ends the series", func(t *testing.T) {
		if got := Occurrences(r, start, start, ekb, false, 10); len(got) != 4 {
			t.Errorf("got %d occurrences, want 4: %v", len(got), got)
		}
	})
	t.Run("the zero rule has no occurrences", func(t *testing.T) {
		if got := Occurrences(Rule{}, start, start, ekb, false, 5); len(got) != 0 {
			t.Errorf("got %v", got)
		}
		if _, ok := NextOccurrence(Rule{}, start, start, ekb, false); ok {
			t.Error("the zero rule has a next occurrence")
		}
	})
	t.Run("a nil zone means UTC", func(t *testing.T) {
		got, ok := NextOccurrence(mustRule(t, "FREQ=DAILY"), time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), nil, false)
		if !ok || !got.Equal(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("got %v, %v", got, ok)
		}
	})
}

// TestNextOccurrenceIsBounded checks that rules which never (or almost
// never) produce a date answer quickly wherever the dates lie.
func TestNextOccurrenceIsBounded(t *testing.T) {
	rules := []string{
		"FREQ=DAILY;INTERVAL=7;BYDAY=TU",
		"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30,31,-30,-31,29;INTERVAL=1000",
		"FREQ=WEEKLY;INTERVAL=1000;BYMONTH=2;BYDAY=MO",
		"FREQ=MONTHLY;INTERVAL=12;BYMONTH=2",
		"FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=15",
		"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=366",
		"FREQ=YEARLY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=29",
		"FREQ=YEARLY;BYDAY=53MO;COUNT=10000",
	}
	starts := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1901, 3, 4, 10, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC),
		time.Date(9998, 12, 31, 10, 0, 0, 0, time.UTC),
	}
	for _, s := range rules {
		r := mustRule(t, s)
		for _, st := range starts {
			began := time.Now()
			Occurrences(r, st, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.UTC, false, 5)
			if took := time.Since(began); took > slowFactor*250*time.Millisecond {
				t.Errorf("%s from %v took %v", s, st, took)
			}
		}
	}
}

// TestExpansionMatchesRRule compares the anchored, shifted expansion with a
// plain rrule-go walk from the start, for many rules and query moments.
func TestExpansionMatchesRRule(t *testing.T) {
	rules := []string{
		"FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;INTERVAL=10;BYDAY=MO,FR",
		"FREQ=DAILY;BYMONTH=2,3;BYMONTHDAY=-1,1", "FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
		"FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,SU;WKST=SU", "FREQ=WEEKLY;INTERVAL=5;BYDAY=SA;WKST=TH",
		"FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=5", "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,1", "FREQ=MONTHLY;INTERVAL=7;BYDAY=2TU,5SU",
		"FREQ=MONTHLY;BYMONTH=1,7;BYMONTHDAY=15", "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=3",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;INTERVAL=2;BYMONTH=11;BYDAY=-1FR",
		"FREQ=YEARLY;BYDAY=20MO", "FREQ=YEARLY;BYMONTH=3,9;BYDAY=SA,SU;BYSETPOS=1",
	}
	starts := []time.Time{
		time.Date(2024, 2, 29, 10, 30, 0, 0, time.UTC),
		time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2019, 12, 29, 23, 59, 0, 0, time.UTC),
	}
	afters := []time.Time{
		time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC),
		time.Date(2031, 7, 15, 10, 30, 0, 0, time.UTC),
		time.Date(2077, 2, 28, 23, 59, 59, 0, time.UTC),
	}
	for _, s := range rules {
		r := mustRule(t, s)
		for _, st := range starts {
			opt := r.options(st)
			plain, err := rrule.NewRRule(opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range afters {
				got := Occurrences(r, st, a, time.UTC, false, 3)
				want := plain.Between(a, a.AddDate(40, 0, 0), false)
				want = want[:min(3, len(want))]
				if len(got) != len(want) {
					t.Errorf("%s from %v after %v: got %v, want %v", s, st, a, got, want)
					continue
				}
				for i := range want {
					if !got[i].Equal(want[i]) {
						t.Errorf("%s from %v after %v: got %v, want %v", s, st, a, got, want)
						break
					}
				}
			}
		}
	}
}

// BenchmarkNextOccurrence is the completion of a typical occurrence: a
// series started three years ago, in a zone with DST.
func BenchmarkNextOccurrence(b *testing.B) {
	loc := mustZone(b, "Europe/Berlin")
	start := time.Date(2023, 1, 2, 10, 0, 0, 0, loc)
	after := time.Date(2026, 12, 3, 14, 0, 0, 0, loc)
	for _, s := range []string{"FREQ=DAILY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=MONTHLY;COUNT=100"} {
		r := mustRule(b, s)
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				NextOccurrence(r, start, after, loc, false)
			}
		})
	}
}
