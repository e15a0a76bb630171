// Package task holds the tasks of the CRM: their recurrence (RFC 5545
// RRULE, expanded in the viewer's time zone and described in Russian), their
// states for a viewer, and their storage.
package task

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
)

// MaxRuleLength is the longest RRULE text ParseRule reads. Real rules are
// well under 200 characters; the bound keeps hostile input cheap.
const MaxRuleLength = 1024

// MaxInterval is the largest INTERVAL a rule may have.
const MaxInterval = 1000

// MaxCount is the largest COUNT a rule may have.
const MaxCount = 10000

// RuleField is the name of the task field that carries a rule, used as the
// key of the field error a *RuleError turns into.
const RuleField = "recurrence_rrule"

// Freq is how often a series repeats: the FREQ part of a rule.
type Freq int

// The frequencies a task series may have. Anything finer than a day makes
// no sense for a task and is refused.
const (
	freqNone Freq = iota
	Daily
	Weekly
	Monthly
	Yearly
)

var freqNames = map[Freq]string{Daily: "DAILY", Weekly: "WEEKLY", Monthly: "MONTHLY", Yearly: "YEARLY"}

// WeekdayNum is one BYDAY entry: a weekday with an optional ordinal
// (N = 0 means every such weekday; 2 the second; -1 the last).
type WeekdayNum struct {
	N   int
	Day time.Weekday
}

// dayCodes are the RFC 5545 weekday codes indexed by time.Weekday.
var dayCodes = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

func (w WeekdayNum) String() string {
	if w.N == 0 {
		return dayCodes[w.Day]
	}
	return strconv.Itoa(w.N) + dayCodes[w.Day]
}

// Rule is a validated RFC 5545 recurrence rule (the RRULE value, without
// "RRULE:"). The zero Rule means "does not repeat". Rules are values:
// compare them with Equal or by their String.
type Rule struct {
	freq       Freq
	interval   int // ≥ 1 once parsed
	count      int // 0: no COUNT
	until      time.Time
	untilKind  untilKind
	byDay      []WeekdayNum
	byMonthDay []int
	byMonth    []int
	bySetPos   []int
	wkst       time.Weekday
	hasWkst    bool
}

// untilKind records how UNTIL was written, so String gives it back the same
// way: a date, a local (floating) date-time or a UTC date-time.
type untilKind int

const (
	untilNone untilKind = iota
	untilDate
	untilFloating
	untilUTC
)

// RuleError is a refused rule: Part names the offending part of the rule
// ("BYDAY", "COUNT", …; "RRULE" for the whole text) and Message says what is
// wrong, in Russian, starting with the part's name.
type RuleError struct {
	Part    string
	Message string
}

func (e *RuleError) Error() string { return e.Message }

// As lets errors.As (and so apperr.AsInvalid) see a RuleError as the field
// error {"recurrence_rrule": Message}: a bad rule is a 400 beside the
// recurrence field without every caller translating it.
func (e *RuleError) As(target any) bool {
	if p, ok := target.(*apperr.Invalid); ok {
		*p = apperr.Invalid{RuleField: e.Message}
		return true
	}
	return false
}

func ruleErr(part, format string, args ...any) error {
	return &RuleError{Part: part, Message: part + ": " + fmt.Sprintf(format, args...)}
}

// ParseRule reads an RRULE value such as "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH".
// "" gives the zero Rule (no recurrence) and no error. Parts may be in any
// order and any letter case; a leading "RRULE:" is tolerated. Everything
// the task series cannot honour is refused with a *RuleError naming the
// part: unknown parts, sub-daily frequencies, COUNT with UNTIL, numbers out
// of range, and rules that can never produce a date (BYMONTHDAY=31;BYMONTH=2).
func ParseRule(s string) (Rule, error) {
	if len(s) > MaxRuleLength {
		return Rule{}, ruleErr("RRULE", "правило длиннее %d символов", MaxRuleLength)
	}
	s = strings.TrimSpace(s)
	if len(s) >= 6 && strings.EqualFold(s[:6], "RRULE:") {
		s = strings.TrimSpace(s[6:])
	}
	if s == "" {
		return Rule{}, nil
	}
	var r Rule
	seen := map[string]bool{}
	for raw := range strings.SplitSeq(s, ";") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		name, value, ok := strings.Cut(raw, "=")
		name = strings.ToUpper(strings.TrimSpace(name))
		value = strings.ToUpper(strings.TrimSpace(value))
		if !ok || name == "" {
			return Rule{}, ruleErr(partName(name, raw), "ожидается «ЧАСТЬ=значение»")
		}
		if seen[name] {
			return Rule{}, ruleErr(name, "часть указана дважды")
		}
		seen[name] = true
		if value == "" {
			return Rule{}, ruleErr(name, "пустое значение")
		}
		if err := r.setPart(name, value); err != nil {
			return Rule{}, err
		}
	}
	if err := r.check(); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// partName is what an error calls a malformed part: its name, or the raw
// text cut short when there is no name to speak of.
func partName(name, raw string) string {
	if name != "" && len(name) <= 20 {
		return name
	}
	if r := []rune(raw); len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return raw
}

func (r *Rule) setPart(name, value string) error {
	var err error
	switch name {
	case "FREQ":
		switch value {
		case "DAILY":
			r.freq = Daily
		case "WEEKLY":
			r.freq = Weekly
		case "MONTHLY":
			r.freq = Monthly
		case "YEARLY":
			r.freq = Yearly
		case "HOURLY", "MINUTELY", "SECONDLY":
			return ruleErr(name, "повторение чаще раза в день не поддерживается")
		default:
			return ruleErr(name, "неизвестная частота «%s»", short(value))
		}
	case "INTERVAL":
		r.interval, err = number(name, value, 1, MaxInterval)
	case "COUNT":
		r.count, err = number(name, value, 1, MaxCount)
	case "UNTIL":
		r.until, r.untilKind, err = parseUntil(value)
	case "BYDAY":
		r.byDay, err = parseByDay(value)
	case "BYMONTHDAY":
		r.byMonthDay, err = numberList(name, value, 1, 31, true)
	case "BYMONTH":
		r.byMonth, err = numberList(name, value, 1, 12, false)
	case "BYSETPOS":
		r.bySetPos, err = numberList(name, value, 1, 366, true)
	case "WKST":
		d, ok := dayCode(value)
		if !ok {
			return ruleErr(name, "неизвестный день недели «%s»", short(value))
		}
		r.wkst, r.hasWkst = d, true
	case "BYHOUR", "BYMINUTE", "BYSECOND", "BYWEEKNO", "BYYEARDAY":
		return ruleErr(name, "эта часть правила не поддерживается")
	default:
		return ruleErr(partName(name, name), "неизвестная часть правила")
	}
	return err
}

// check validates the parts against each other, once all are read.
func (r *Rule) check() error {
	if r.freq == freqNone {
		return ruleErr("FREQ", "частота не указана")
	}
	if r.interval == 0 {
		r.interval = 1
	}
	if r.count > 0 && r.untilKind != untilNone {
		return ruleErr("COUNT", "нельзя указывать вместе с UNTIL")
	}
	for _, d := range r.byDay {
		switch {
		case d.N == 0:
		case r.freq == Daily || r.freq == Weekly:
			return ruleErr("BYDAY", "номер дня недели («%s») допустим только при FREQ=MONTHLY или YEARLY", d)
		case (r.freq == Monthly || len(r.byMonth) > 0) && (d.N > 5 || d.N < -5):
			return ruleErr("BYDAY", "в месяце не больше 5 одинаковых дней недели («%s»)", d)
		}
	}
	if r.freq == Weekly && len(r.byMonthDay) > 0 {
		return ruleErr("BYMONTHDAY", "нельзя указывать при FREQ=WEEKLY")
	}
	if len(r.bySetPos) > 0 && len(r.byDay) == 0 && len(r.byMonthDay) == 0 && len(r.byMonth) == 0 {
		return ruleErr("BYSETPOS", "нужна ещё часть BYDAY, BYMONTHDAY или BYMONTH")
	}
	if len(r.byMonthDay) > 0 && !r.monthDayPossible() {
		return ruleErr("BYMONTHDAY", "в выбранных месяцах нет такого числа")
	}
	if r.hasWkst && r.wkst == time.Monday {
		r.hasWkst = false // the default, said or not
	}
	return nil
}

// monthDayPossible reports whether some BYMONTHDAY exists in some BYMONTH
// (February counted with 29 days).
func (r *Rule) monthDayPossible() bool {
	months := r.byMonth
	if len(months) == 0 {
		months = []int{1}
	}
	for _, m := range months {
		days := daysInMonth(m)
		for _, d := range r.byMonthDay {
			if d <= days && -d <= days {
				return true
			}
		}
	}
	return false
}

func daysInMonth(m int) int {
	switch m {
	case 2:
		return 29
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func short(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return s
}

func number(part, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || strings.HasPrefix(v, "+") {
		return 0, ruleErr(part, "«%s» — не целое число", short(v))
	}
	if n < lo || n > hi {
		return 0, ruleErr(part, "число должно быть от %d до %d", lo, hi)
	}
	return n, nil
}

// numberList reads a comma-separated list of integers in [lo, hi] (or, when
// signed, in [-hi, -lo] too), sorted and without repeats.
func numberList(part, v string, lo, hi int, signed bool) ([]int, error) {
	var out []int
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		n, err := strconv.Atoi(item)
		if err != nil {
			return nil, ruleErr(part, "«%s» — не целое число", short(item))
		}
		if !(n >= lo && n <= hi) && !(signed && n <= -lo && n >= -hi) {
			if signed {
				return nil, ruleErr(part, "число должно быть от %d до %d или от %d до %d", lo, hi, -hi, -lo)
			}
			return nil, ruleErr(part, "число должно быть от %d до %d", lo, hi)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, compareSigned)
	return out, nil
}

// compareSigned orders positive numbers first, ascending, then negative
// ones from -1 down: 1, 15, -1 reads as "the 1st, the 15th, the last".
func compareSigned(a, b int) int {
	switch {
	case (a > 0) != (b > 0):
		if a > 0 {
			return -1
		}
		return 1
	case a > 0:
		return a - b
	default:
		return b - a
	}
}

func dayCode(s string) (time.Weekday, bool) {
	for i, c := range dayCodes {
		if c == s {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

func parseByDay(v string) ([]WeekdayNum, error) {
	var out []WeekdayNum
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if len(item) < 2 {
			return nil, ruleErr("BYDAY", "неизвестный день недели «%s»", short(item))
		}
		code, num := item[len(item)-2:], item[:len(item)-2]
		d, ok := dayCode(code)
		if !ok {
			return nil, ruleErr("BYDAY", "неизвестный день недели «%s»", short(item))
		}
		w := WeekdayNum{Day: d}
		if num != "" {
			n, err := strconv.Atoi(num)
			if err != nil || len(num) > 3 {
				return nil, ruleErr("BYDAY", "неверный номер дня недели «%s»", short(item))
			}
			if n == 0 || n > 53 || n < -53 {
				return nil, ruleErr("BYDAY", "номер дня недели должен быть от 1 до 53 или от -53 до -1 («%s»)", short(item))
			}
			w.N = n
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b WeekdayNum) int {
		if a.Day != b.Day {
			return mondayFirst(a.Day) - mondayFirst(b.Day)
		}
		if a.N == 0 || b.N == 0 {
			return a.N*a.N - b.N*b.N // the plain day first
		}
		return compareSigned(a.N, b.N)
	})
	return out, nil
}

// mondayFirst numbers weekdays from Monday (0) to Sunday (6).
func mondayFirst(d time.Weekday) int { return (int(d) + 6) % 7 }

// parseUntil reads UNTIL as a date (20261231), a floating local date-time
// (20261231T180000) or a UTC date-time (20261231T180000Z).
func parseUntil(v string) (time.Time, untilKind, error) {
	var layout string
	var kind untilKind
	switch len(v) {
	case 8:
		layout, kind = "20060102", untilDate
	case 15:
		layout, kind = "20060102T150405", untilFloating
	case 16:
		layout, kind = "20060102T150405Z", untilUTC
	default:
		return time.Time{}, 0, ruleErr("UNTIL", "ожидается дата вида 20261231 или 20261231T235959Z")
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return time.Time{}, 0, ruleErr("UNTIL", "неверная дата «%s»", short(v))
	}
	if t.Year() < 1900 || t.Year() > 2999 {
		return time.Time{}, 0, ruleErr("UNTIL", "год должен быть от 1900 до 2999")
	}
	return t, kind, nil
}

// IsZero reports whether r is "does not repeat".
func (r Rule) IsZero() bool { return r.freq == freqNone }

// Freq is the rule's frequency; zero for the zero Rule.
func (r Rule) Freq() Freq { return r.freq }

// Interval is the rule's INTERVAL (1 when not given).
func (r Rule) Interval() int { return r.interval }

// Count is the rule's COUNT, 0 when the rule has none.
func (r Rule) Count() int { return r.count }

// Until is the rule's UNTIL as written (a date or a floating date-time is
// returned as UTC wall clock) and whether it has one; dateOnly tells a date
// from a date-time.
func (r Rule) Until() (until time.Time, dateOnly, ok bool) {
	return r.until, r.untilKind == untilDate, r.untilKind != untilNone
}

// ByDay is the rule's BYDAY entries, Monday first.
func (r Rule) ByDay() []WeekdayNum { return slices.Clone(r.byDay) }

// ByMonthDay is the rule's BYMONTHDAY values (-1 is the last day).
func (r Rule) ByMonthDay() []int { return slices.Clone(r.byMonthDay) }

// ByMonth is the rule's BYMONTH values, 1 to 12.
func (r Rule) ByMonth() []int { return slices.Clone(r.byMonth) }

// BySetPos is the rule's BYSETPOS values.
func (r Rule) BySetPos() []int { return slices.Clone(r.bySetPos) }

// Equal reports whether r and o are the same rule.
func (r Rule) Equal(o Rule) bool { return r.String() == o.String() }

// String is the canonical RRULE text: parts in a fixed order (FREQ,
// INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST, COUNT, UNTIL),
// lists sorted, defaults (INTERVAL=1, WKST=MO) left out. "" for the zero Rule.
func (r Rule) String() string {
	if r.IsZero() {
		return ""
	}
	var b strings.Builder
	b.WriteString("FREQ=" + freqNames[r.freq])
	if r.interval > 1 {
		b.WriteString(";INTERVAL=" + strconv.Itoa(r.interval))
	}
	writeInts(&b, "BYMONTH", r.byMonth)
	writeInts(&b, "BYMONTHDAY", r.byMonthDay)
	if len(r.byDay) > 0 {
		b.WriteString(";BYDAY=")
		for i, d := range r.byDay {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(d.String())
		}
	}
	writeInts(&b, "BYSETPOS", r.bySetPos)
	if r.hasWkst {
		b.WriteString(";WKST=" + dayCodes[r.wkst])
	}
	if r.count > 0 {
		b.WriteString(";COUNT=" + strconv.Itoa(r.count))
	}
	switch r.untilKind {
	case untilDate:
		b.WriteString(";UNTIL=" + r.until.Format("20060102"))
	case untilFloating:
		b.WriteString(";UNTIL=" + r.until.Format("20060102T150405"))
	case untilUTC:
		b.WriteString(";UNTIL=" + r.until.Format("20060102T150405Z"))
	}
	return b.String()
}

func writeInts(b *strings.Builder, name string, vs []int) {
	if len(vs) == 0 {
		return
	}
	b.WriteString(";" + name + "=")
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(v))
	}
}

// IsRuleError reports whether err is a refused rule.
func IsRuleError(err error) bool {
	var re *RuleError
	return errors.As(err, &re)
}
