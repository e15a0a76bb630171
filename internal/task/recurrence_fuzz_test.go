package task

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"", "FREQ=DAILY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6",
	"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
	"FREQ=DAILY;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261231T205959Z", "freq=monthly;bymonthday=-1",
	"FREQ=SECONDLY", "FREQ=WEEKLY;BYDAY=XX", "RRULE:FREQ=YEARLY;BYDAY=20MO;WKST=SU",
	"FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2", "FREQ=DAILY;COUNT=3;UNTIL=20260101",
}

// FuzzParseRule: the parser never panics, refuses with a *RuleError that
// names a part, and whatever it accepts round-trips through String, has a
// description and can be expanded.
func FuzzParseRule(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	start := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.Part == "" || !strings.HasPrefix(re.Message, re.Part+": ") {
				t.Fatalf("ParseRule(%q) error %v is not a RuleError naming its part", s, err)
			}
			return
		}
		text := r.String()
		again, err := ParseRule(text)
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", text, s, err)
		}
		if again.String() != text {
			t.Fatalf("round trip: %q → %q", text, again.String())
		}
		if !r.IsZero() && r.Describe() == "" {
			t.Fatalf("no description for %q", text)
		}
		NextOccurrence(r, start, start, time.UTC, false)
	})
}

// FuzzDescribe builds rules from their parts (reaching far more valid rules
// than random text) and checks the describer never panics, never says
// nothing and never leaks a formatting verb.
func FuzzDescribe(f *testing.F) {
	f.Add(uint8(1), uint16(2), "TU,TH", "", "", "", uint16(0), "")
	f.Add(uint8(2), uint16(1), "-1FR", "", "", "", uint16(6), "")
	f.Add(uint8(2), uint16(1), "MO,TU,WE,TH,FR", "", "", "-1", uint16(0), "")
	f.Add(uint8(3), uint16(1), "", "29", "2", "", uint16(0), "")
	f.Add(uint8(0), uint16(1), "", "", "", "", uint16(0), "20261231")
	f.Add(uint8(3), uint16(4), "2TU,-1SU,MO", "1,-2", "3,9", "1,-1", uint16(21), "")
	freqs := []string{"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
	f.Fuzz(func(t *testing.T, freq uint8, interval uint16, byDay, byMonthDay, byMonth, bySetPos string, count uint16, until string) {
		parts := []string{"FREQ=" + freqs[int(freq)%len(freqs)], fmt.Sprintf("INTERVAL=%d", interval)}
		for _, p := range [][2]string{{"BYDAY", byDay}, {"BYMONTHDAY", byMonthDay}, {"BYMONTH", byMonth}, {"BYSETPOS", bySetPos}, {"UNTIL", until}} {
			if p[1] != "" {
				parts = append(parts, p[0]+"="+p[1])
			}
		}
		if count > 0 {
			parts = append(parts, fmt.Sprintf("COUNT=%d", count))
		}
		r, err := ParseRule(strings.Join(parts, ";"))
		if err != nil {
			return
		}
		d := r.Describe()
		if d == "" || strings.Contains(d, "%!") || strings.Contains(d, "  ") {
			t.Fatalf("Describe(%s) = %q", r, d)
		}
	})
}
