package calendar_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/crmprofi/crm/internal/calendar"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// sample is a feed with every kind of event the application writes.
func sample(t *testing.T) calendar.Feed {
	t.Helper()
	msk, berlin := mustZone(t, "Europe/Moscow"), mustZone(t, "Europe/Berlin")
	created := time.Date(2026, 11, 20, 8, 15, 0, 0, time.UTC)
	return calendar.Feed{
		Name:  "Задачи — CRM ПРОФИ",
		Stamp: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC),
		Events: []calendar.Event{
			{UID: "task-1@crm.example", Summary: "Позвонить в ООО «Ромашка», уточнить счёт; срочно",
				Description: "Первая строка\nвторая строка с обратной косой \\ и запятой, точкой с запятой;",
				URL:         "https://crm.example/tasks/1/", Start: time.Date(2026, 12, 4, 10, 30, 0, 0, msk),
				Created: created, Modified: created.Add(time.Hour), Urgent: true},
			{UID: "task-2@crm.example", Summary: "Отчёт за неделю", URL: "https://crm.example/tasks/2/",
				Start: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), AllDay: true, Created: created, Modified: created},
			{UID: "series-7@crm.example", Summary: "Планёрка", URL: "https://crm.example/tasks/9/",
				Start: time.Date(2026, 12, 8, 10, 0, 0, 0, berlin), RRule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=5",
				Duration: 90 * time.Minute, Created: created, Modified: created},
			{UID: "series-8@crm.example", Summary: "Сверка в последнюю пятницу месяца", URL: "https://crm.example/tasks/12/",
				Start: time.Date(2026, 12, 25, 6, 0, 0, 0, time.UTC), RRule: "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231T235959Z",
				Created: created, Modified: created},
			{UID: "task-3@crm.example", Summary: strings.Repeat("Очень длинное название задачи ", 6),
				Description: strings.Repeat("Ёлка-палка — ", 20), Start: time.Date(2026, 12, 10, 18, 0, 0, 0, msk),
				Created: created, Modified: created},
		},
	}
}

func write(t *testing.T, f calendar.Feed) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := calendar.Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTheFeedMatchesItsGoldenFile(t *testing.T) {
	got := write(t, sample(t))
	golden := filepath.Join("testdata", "feed.ics")
	if *update {
		if err := os.WriteFile(golden, got, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden) //nolint:gosec // a fixed path under testdata
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("feed differs from %s (run with -update after checking):\n%s", golden, got)
	}
}

func TestTheFeedIsWellFormed(t *testing.T) {
	out := write(t, sample(t))
	t.Run("every line ends with CRLF and is at most 75 octets", func(t *testing.T) {
		if !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatal("the feed does not end with CRLF")
		}
		for i, line := range strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n") {
			if strings.ContainsAny(line, "\r\n") {
				t.Errorf("line %d has a bare line break: %q", i+1, line)
			}
			if len(line) > 75 {
				t.Errorf("line %d is %d octets: %q", i+1, len(line), line)
			}
			if !utf8.ValidString(line) {
				t.Errorf("line %d splits a character: %q", i+1, line)
			}
		}
	})
	cal, err := ical.NewDecoder(bytes.NewReader(out)).Decode()
	if err != nil {
		t.Fatalf("an RFC 5545 parser refuses the feed: %v", err)
	}
	t.Run("a strict encoder accepts every component", func(t *testing.T) {
		if err := ical.NewEncoder(&bytes.Buffer{}).Encode(cal); err != nil {
			t.Fatal(err)
		}
	})
	events := map[string]ical.Event{}
	for _, e := range cal.Events() {
		uid, err := e.Props.Text(ical.PropUID)
		if err != nil {
			t.Fatal(err)
		}
		events[uid] = e
	}
	if len(events) != 5 {
		t.Fatalf("%d events, want 5", len(events))
	}
	t.Run("text comes back unescaped, folding undone", func(t *testing.T) {
		f := sample(t)
		for _, in := range f.Events {
			e := events[in.UID]
			summary, err := e.Props.Text(ical.PropSummary)
			if err != nil || summary != in.Summary {
				t.Errorf("%s: summary %q (%v), want %q", in.UID, summary, err, in.Summary)
			}
			desc, err := e.Props.Text(ical.PropDescription)
			want := in.Description
			if in.URL != "" {
				if want != "" {
					want += "\n\n"
				}
				want += in.URL
			}
			if err != nil || desc != want {
				t.Errorf("%s: description %q (%v), want %q", in.UID, desc, err, want)
			}
		}
	})
	t.Run("a timed task starts at its local time and lasts its duration", func(t *testing.T) {
		e := events["task-1@crm.example"]
		start, err := e.DateTimeStart(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2026, 12, 4, 7, 30, 0, 0, time.UTC); !start.Equal(want) {
			t.Errorf("start %v, want %v", start, want)
		}
		if p := e.Props.Get(ical.PropDateTimeStart); p.Params.Get(ical.ParamTimezoneID) != "Europe/Moscow" {
			t.Errorf("DTSTART has TZID %q", p.Params.Get(ical.ParamTimezoneID))
		}
		end, err := e.DateTimeEnd(nil)
		if err != nil || end.Sub(start) != 30*time.Minute {
			t.Errorf("end %v (%v), want 30 minutes after the start", end, err)
		}
	})
	t.Run("a whole-day task is an all-day event", func(t *testing.T) {
		e := events["task-2@crm.example"]
		p := e.Props.Get(ical.PropDateTimeStart)
		if p.ValueType() != ical.ValueDate || p.Value != "20261205" {
			t.Errorf("DTSTART %v %q, want the date 20261205", p.ValueType(), p.Value)
		}
	})
	t.Run("a recurring series expands by its RRULE in its zone", func(t *testing.T) {
		set, err := events["series-7@crm.example"].RecurrenceSet(nil)
		if err != nil {
			t.Fatal(err)
		}
		all := set.All()
		if len(all) != 5 {
			t.Fatalf("%d occurrences, want 5 (COUNT=5)", len(all))
		}
		berlin := mustZone(t, "Europe/Berlin")
		for _, at := range all {
			local := at.In(berlin)
			if local.Hour() != 10 || local.Minute() != 0 {
				t.Errorf("occurrence %v is not at 10:00 in Berlin", local)
			}
			if wd := local.Weekday(); wd != time.Tuesday && wd != time.Thursday {
				t.Errorf("occurrence %v is not on a Tuesday or Thursday", local)
			}
		}
		set, err = events["series-8@crm.example"].RecurrenceSet(nil)
		if err != nil {
			t.Fatal(err)
		}
		all = set.All()
		if len(all) != 13 {
			t.Fatalf("%d last Fridays until the end of 2027, want 13", len(all))
		}
		for _, at := range all {
			if at.Weekday() != time.Friday || at.AddDate(0, 0, 7).Month() == at.Month() {
				t.Errorf("%v is not the last Friday of its month", at)
			}
		}
	})
	t.Run("the time zones are described as Go knows them, far into the future", func(t *testing.T) {
		for _, tz := range cal.Children {
			if tz.Name != ical.CompTimezone {
				continue
			}
			name, _ := tz.Props.Text(ical.PropTimezoneID)
			loc := mustZone(t, name)
			for year := 2026; year <= 2040; year++ {
				for _, month := range []time.Month{time.January, time.April, time.July, time.October} {
					at := time.Date(year, month, 15, 12, 0, 0, 0, time.UTC)
					_, want := at.In(loc).Zone()
					if got := offsetAt(t, tz, at); got != want {
						t.Errorf("%s on %v: the VTIMEZONE says %d, Go %d", name, at, got, want)
					}
				}
			}
		}
	})
}

// offsetAt is the UTC offset a VTIMEZONE gives for the instant at: that
// of the observance whose latest onset before at is the latest.
func offsetAt(t *testing.T, tz *ical.Component, at time.Time) int {
	t.Helper()
	type onset struct {
		at time.Time
		to int
	}
	var onsets []onset
	for _, obs := range tz.Children {
		from, to := parseOffset(t, obs.Props.Get(ical.PropTimezoneOffsetFrom).Value), parseOffset(t, obs.Props.Get(ical.PropTimezoneOffsetTo).Value)
		// DTSTART is local time before the change: UTC is it minus the old offset.
		start, err := time.Parse("20060102T150405", obs.Props.Get(ical.PropDateTimeStart).Value)
		if err != nil {
			t.Fatal(err)
		}
		start = start.Add(-time.Duration(from) * time.Second)
		if p := obs.Props.Get(ical.PropRecurrenceRule); p != nil {
			opt, err := rrule.StrToROption(p.Value)
			if err != nil {
				t.Fatal(err)
			}
			opt.Dtstart = start
			r, err := rrule.NewRRule(*opt)
			if err != nil {
				t.Fatal(err)
			}
			if prev := r.Before(at, true); !prev.IsZero() {
				onsets = append(onsets, onset{prev, to})
			}
		} else if !start.After(at) {
			onsets = append(onsets, onset{start, to})
		}
	}
	if len(onsets) == 0 {
		t.Fatalf("no observance before %v", at)
	}
	sort.Slice(onsets, func(i, j int) bool { return onsets[i].at.Before(onsets[j].at) })
	return onsets[len(onsets)-1].to
}

func parseOffset(t *testing.T, v string) int {
	t.Helper()
	if len(v) < 5 {
		t.Fatalf("bad offset %q", v)
	}
	h := int(v[1]-'0')*10 + int(v[2]-'0')
	m := int(v[3]-'0')*10 + int(v[4]-'0')
	sec := h*3600 + m*60
	if v[0] == '-' {
		sec = -sec
	}
	return sec
}

func TestTextIsEscapedPerRFC5545(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a comma, a semicolon and a backslash are escaped", `a,b;c\d`, `a\,b\;c\\d`},
		{"a line break becomes \\n", "one\ntwo", `one\ntwo`},
		{"CRLF is one line break", "one\r\ntwo", `one\ntwo`},
		{"other control characters are dropped", "a\x00b\x07c", "abc"},
		{"Cyrillic is kept as it is", "Задача «Ромашка»", "Задача «Ромашка»"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(write(t, calendar.Feed{Stamp: time.Unix(0, 0), Events: []calendar.Event{
				{UID: "x", Summary: tt.in, Start: time.Unix(0, 0).UTC()}}}))
			if !strings.Contains(out, "\r\nSUMMARY:"+tt.want+"\r\n") {
				t.Errorf("no SUMMARY:%s in\n%s", tt.want, out)
			}
		})
	}
}

func FuzzWriteNeverBreaksTheFormat(f *testing.F) {
	f.Add("Позвонить, уточнить; счёт\\", "строка\r\nещё")
	f.Fuzz(func(t *testing.T, summary, desc string) {
		var buf bytes.Buffer
		err := calendar.Write(&buf, calendar.Feed{Stamp: time.Unix(0, 0), Events: []calendar.Event{
			{UID: "x", Summary: summary, Description: desc, Start: time.Unix(0, 0).UTC()}}})
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(buf.String(), "\r\n"), "\r\n") {
			if len(line) > 75 || strings.ContainsAny(line, "\r\n") {
				t.Fatalf("bad line %q", line)
			}
		}
		if _, err := ical.NewDecoder(&buf).Decode(); err != nil {
			t.Fatal(err)
		}
	})
}
