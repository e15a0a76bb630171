package task

import (
	"errors"
	"net/url"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
)

func TestRuleFromForm(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
		want string
		bad  bool
	}{
		{"no repeat gives no rule", url.Values{FormFreq: {""}, FormInterval: {"3"}, RuleField: {"FREQ=DAILY"}}, "", false},
		{"daily", url.Values{FormFreq: {"daily"}, FormInterval: {"1"}, FormEnd: {"never"}}, "FREQ=DAILY", false},
		{"every three days", url.Values{FormFreq: {"daily"}, FormInterval: {"3"}}, "FREQ=DAILY;INTERVAL=3", false},
		{"every two weeks on Tuesday and Thursday", url.Values{FormFreq: {"weekly"}, FormInterval: {"2"}, FormByDay: {"TH", "TU"}}, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", false},
		{"weekly without days keeps the start's weekday", url.Values{FormFreq: {"weekly"}}, "FREQ=WEEKLY", false},
		{"monthly on a day of the month", url.Values{FormFreq: {"monthly"}, FormMonthMode: {"day"}, FormMonthDay: {"15"}}, "FREQ=MONTHLY;BYMONTHDAY=15", false},
		{"monthly on the second Tuesday", url.Values{FormFreq: {"monthly"}, FormMonthMode: {"nth"}, FormOrdinal: {"2"}, FormWeekday: {"TU"}}, "FREQ=MONTHLY;BYDAY=2TU", false},
		{"monthly on the last Friday six times", url.Values{FormFreq: {"monthly"}, FormMonthMode: {"nth"}, FormOrdinal: {"-1"}, FormWeekday: {"FR"}, FormEnd: {"count"}, FormCount: {"6"}}, "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", false},
		{"monthly on the last day", url.Values{FormFreq: {"monthly"}, FormMonthMode: {"last"}}, "FREQ=MONTHLY;BYMONTHDAY=-1", false},
		{"monthly on the last workday", url.Values{FormFreq: {"monthly"}, FormMonthMode: {"lastwork"}}, "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", false},
		{"yearly until a date", url.Values{FormFreq: {"yearly"}, FormEnd: {"until"}, FormUntil: {"31.12.2030"}}, "FREQ=YEARLY;UNTIL=20301231", false},
		{"an ISO until date is accepted", url.Values{FormFreq: {"daily"}, FormEnd: {"until"}, FormUntil: {"2026-12-31"}}, "FREQ=DAILY;UNTIL=20261231", false},
		{"weekly fields are ignored for a daily rule", url.Values{FormFreq: {"daily"}, FormByDay: {"MO"}, FormMonthDay: {"3"}}, "FREQ=DAILY", false},
		{"without builder controls the hidden rule is used", url.Values{RuleField: {"freq=weekly;byday=tu"}}, "FREQ=WEEKLY;BYDAY=TU", false},
		{"a custom rule keeps the hidden rule", url.Values{FormFreq: {FreqCustom}, RuleField: {"FREQ=YEARLY;BYMONTH=3,9;BYDAY=1SA"}}, "FREQ=YEARLY;BYMONTH=3,9;BYDAY=1SA", false},
		{"an unknown frequency is refused", url.Values{FormFreq: {"hourly"}}, "", true},
		{"a zero interval is refused", url.Values{FormFreq: {"daily"}, FormInterval: {"0"}}, "", true},
		{"a huge interval is refused", url.Values{FormFreq: {"daily"}, FormInterval: {"1001"}}, "", true},
		{"an unknown weekday is refused", url.Values{FormFreq: {"weekly"}, FormByDay: {"XX"}}, "", true},
		{"day 32 is refused", url.Values{FormFreq: {"monthly"}, FormMonthDay: {"32"}}, "", true},
		{"a fifth ordinal is refused", url.Values{FormFreq: {"monthly"}, FormMonthMode: {"nth"}, FormOrdinal: {"5"}, FormWeekday: {"MO"}}, "", true},
		{"a missing count is refused", url.Values{FormFreq: {"daily"}, FormEnd: {"count"}}, "", true},
		{"a bad until date is refused", url.Values{FormFreq: {"daily"}, FormEnd: {"until"}, FormUntil: {"31.02.2026"}}, "", true},
		{"a bad hidden rule is refused", url.Values{RuleField: {"FREQ=SECONDLY"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RuleFromForm(tt.form)
			if tt.bad {
				inv, ok := apperr.AsInvalid(err)
				if !ok || inv[RuleField] == "" {
					t.Fatalf("RuleFromForm = %q, %v; want a field error on %s", got, err, RuleField)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RuleFromForm = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFormValuesRoundTrip(t *testing.T) {
	tests := []struct {
		name, rule, freq string
	}{
		{"no rule", "", ""},
		{"daily", "FREQ=DAILY;INTERVAL=3;COUNT=4", "daily"},
		{"weekly on days", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;UNTIL=20261231", "weekly"},
		{"monthly on a day", "FREQ=MONTHLY;BYMONTHDAY=15", "monthly"},
		{"monthly on the last day", "FREQ=MONTHLY;BYMONTHDAY=-1", "monthly"},
		{"monthly on the second Tuesday", "FREQ=MONTHLY;BYDAY=2TU", "monthly"},
		{"monthly on the last workday", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "monthly"},
		{"yearly", "FREQ=YEARLY;INTERVAL=2", "yearly"},
		{"a rule with months is custom", "FREQ=YEARLY;BYMONTH=3,9", FreqCustom},
		{"a rule with two month days is custom", "FREQ=MONTHLY;BYMONTHDAY=1,15", FreqCustom},
		{"a UTC until is custom", "FREQ=DAILY;UNTIL=20261231T205959Z", FreqCustom},
		{"an unparsable rule is custom", "FREQ=NEVER", FreqCustom},
	}
	for _, tt := range tests {
		t.Run(tt.name+" survives the builder", func(t *testing.T) {
			v := FormValues(tt.rule)
			if got := v.Get(FormFreq); got != tt.freq {
				t.Fatalf("freq = %q, want %q", got, tt.freq)
			}
			got, err := RuleFromForm(v)
			if tt.freq == FreqCustom && tt.rule == "FREQ=NEVER" {
				var re *RuleError
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want the rule's error", err)
				}
				return
			}
			if err != nil || got != tt.rule {
				t.Fatalf("RuleFromForm(FormValues(%q)) = %q, %v", tt.rule, got, err)
			}
		})
	}
}
