package task

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
)

// The named controls of the recurrence builder (view.RecurrenceBuilder).
// The form works without JavaScript: the server builds the rule from these
// with RuleFromForm; the script only keeps the hidden recurrence_rrule
// field and the preview current.
const (
	FormFreq      = "recurrence_freq"      // "", daily, weekly, monthly, yearly, custom
	FormInterval  = "recurrence_interval"  // every N periods
	FormByDay     = "recurrence_byday"     // weekly: MO … SU, repeated
	FormMonthMode = "recurrence_monthmode" // monthly: day, nth, last, lastwork
	FormMonthDay  = "recurrence_monthday"  // monthly "day": 1 … 31
	FormOrdinal   = "recurrence_ordinal"   // monthly "nth": 1 … 4 or -1
	FormWeekday   = "recurrence_weekday"   // monthly "nth": MO … SU
	FormEnd       = "recurrence_end"       // never, count, until
	FormCount     = "recurrence_count"     // ends after N times
	FormUntil     = "recurrence_until"     // ends on dd.mm.yyyy
)

// FreqCustom is the builder's choice for a rule it cannot show in its
// controls (made through the API): the hidden recurrence_rrule is kept as is.
const FreqCustom = "custom"

// RuleFromForm builds the RRULE text from the recurrence builder's fields.
// When the form has no builder controls (recurrence_freq absent) or the
// builder says "custom", the recurrence_rrule field is taken as it is. The
// result is canonical ("" for "does not repeat"); a bad field gives
// apperr.Invalid{"recurrence_rrule": "…"}, the message shown beside the
// builder.
func RuleFromForm(form url.Values) (string, error) {
	if _, ok := form[FormFreq]; !ok || form.Get(FormFreq) == FreqCustom {
		r, err := ParseRule(form.Get(RuleField))
		if err != nil {
			return "", err
		}
		return r.String(), nil
	}
	bad := func(msg string) (string, error) { return "", apperr.Invalid{RuleField: msg} }
	freq := strings.TrimSpace(form.Get(FormFreq))
	parts := []string{}
	switch freq {
	case "":
		return "", nil
	case "daily", "weekly", "monthly", "yearly":
		parts = append(parts, "FREQ="+strings.ToUpper(freq))
	default:
		return bad("Выберите, как часто повторять задачу.")
	}
	if v := strings.TrimSpace(form.Get(FormInterval)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxInterval {
			return bad("Интервал повторения — целое число от 1 до " + strconv.Itoa(MaxInterval) + ".")
		}
		parts = append(parts, "INTERVAL="+strconv.Itoa(n))
	}
	switch freq {
	case "weekly":
		var days []string
		for _, d := range form[FormByDay] {
			d = strings.ToUpper(strings.TrimSpace(d))
			if _, ok := dayCode(d); !ok {
				return bad("Неизвестный день недели.")
			}
			days = append(days, d)
		}
		if len(days) > 0 {
			parts = append(parts, "BYDAY="+strings.Join(days, ","))
		}
	case "monthly":
		switch form.Get(FormMonthMode) {
		case "", "day":
			if v := strings.TrimSpace(form.Get(FormMonthDay)); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 31 {
					return bad("Число месяца — от 1 до 31.")
				}
				parts = append(parts, "BYMONTHDAY="+strconv.Itoa(n))
			}
		case "nth":
			n, err := strconv.Atoi(form.Get(FormOrdinal))
			if err != nil || n == 0 || n < -1 || n > 4 {
				return bad("Выберите, какой по счёту день недели.")
			}
			d := strings.ToUpper(form.Get(FormWeekday))
			if _, ok := dayCode(d); !ok {
				return bad("Выберите день недели.")
			}
			parts = append(parts, "BYDAY="+strconv.Itoa(n)+d)
		case "last":
			parts = append(parts, "BYMONTHDAY=-1")
		case "lastwork":
			parts = append(parts, "BYDAY=MO,TU,WE,TH,FR", "BYSETPOS=-1")
		default:
			return bad("Выберите день месяца.")
		}
	}
	switch form.Get(FormEnd) {
	case "", "never":
	case "count":
		n, err := strconv.Atoi(strings.TrimSpace(form.Get(FormCount)))
		if err != nil || n < 1 || n > MaxCount {
			return bad("Число повторений — от 1 до " + strconv.Itoa(MaxCount) + ".")
		}
		parts = append(parts, "COUNT="+strconv.Itoa(n))
	case "until":
		d, ok := parseFormDate(form.Get(FormUntil))
		if !ok {
			return bad("Дата окончания — в виде дд.мм.гггг.")
		}
		parts = append(parts, "UNTIL="+d.Format("20060102"))
	default:
		return bad("Выберите, когда закончить повторение.")
	}
	r, err := ParseRule(strings.Join(parts, ";"))
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// parseFormDate reads dd.mm.yyyy (or the yyyy-mm-dd of a date input).
func parseFormDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{"02.01.2006", "2.1.2006", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil && t.Year() >= 1900 && t.Year() <= 2999 {
			return t, true
		}
	}
	return time.Time{}, false
}

// FormValues are the builder's control values that show rule (an RRULE
// text, "" for no recurrence): the inverse of RuleFromForm. A rule the
// controls cannot express (or cannot parse) gets recurrence_freq "custom",
// so saving the form keeps it unchanged.
func FormValues(rule string) url.Values {
	v := url.Values{
		FormFreq: {""}, FormInterval: {"1"}, FormMonthMode: {"day"}, FormOrdinal: {"1"},
		FormWeekday: {"MO"}, FormEnd: {"never"}, FormCount: {"10"}, RuleField: {rule},
	}
	r, err := ParseRule(rule)
	if err != nil {
		v.Set(FormFreq, FreqCustom)
		return v
	}
	v.Set(RuleField, r.String())
	if r.IsZero() {
		return v
	}
	custom := func() url.Values { v.Set(FormFreq, FreqCustom); return v }
	if r.hasWkst || len(r.byMonth) > 0 || r.untilKind == untilFloating || r.untilKind == untilUTC {
		return custom()
	}
	v.Set(FormFreq, strings.ToLower(freqNames[r.freq]))
	v.Set(FormInterval, strconv.Itoa(r.interval))
	switch r.freq {
	case Daily, Yearly:
		if len(r.byDay) > 0 || len(r.byMonthDay) > 0 || len(r.bySetPos) > 0 {
			return custom()
		}
	case Weekly:
		if len(r.bySetPos) > 0 {
			return custom()
		}
		for _, d := range r.byDay {
			v.Add(FormByDay, dayCodes[d.Day])
		}
	case Monthly:
		switch {
		case len(r.byDay) == 0 && len(r.bySetPos) == 0 && len(r.byMonthDay) == 1 && r.byMonthDay[0] > 0:
			v.Set(FormMonthDay, strconv.Itoa(r.byMonthDay[0]))
		case len(r.byDay) == 0 && len(r.bySetPos) == 0 && len(r.byMonthDay) == 0:
		case len(r.byDay) == 0 && len(r.bySetPos) == 0 && slices.Equal(r.byMonthDay, []int{-1}):
			v.Set(FormMonthMode, "last")
		case len(r.byMonthDay) == 0 && len(r.bySetPos) == 0 && len(r.byDay) == 1 && r.byDay[0].N >= -1 && r.byDay[0].N <= 4 && r.byDay[0].N != 0:
			v.Set(FormMonthMode, "nth")
			v.Set(FormOrdinal, strconv.Itoa(r.byDay[0].N))
			v.Set(FormWeekday, dayCodes[r.byDay[0].Day])
		case len(r.byMonthDay) == 0 && slices.Equal(r.bySetPos, []int{-1}) && slices.Equal(r.plainDays(), workdays) && len(r.byDay) == 5:
			v.Set(FormMonthMode, "lastwork")
		default:
			return custom()
		}
	}
	switch {
	case r.count > 0:
		v.Set(FormEnd, "count")
		v.Set(FormCount, strconv.Itoa(r.count))
	case r.untilKind == untilDate:
		v.Set(FormEnd, "until")
		v.Set(FormUntil, r.until.Format("02.01.2006"))
	}
	return v
}
