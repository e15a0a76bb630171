package task

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Russian word forms of the describer. Weekdays are indexed by time.Weekday.
var (
	// dayGender: 'm' понедельник, 'f' среда, 'n' воскресенье.
	dayGender = [7]byte{'n', 'm', 'm', 'f', 'm', 'f', 'f'}
	dayAcc    = [7]string{"воскресенье", "понедельник", "вторник", "среду", "четверг", "пятницу", "субботу"}
	dayDatPl  = [7]string{"воскресеньям", "понедельникам", "вторникам", "средам", "четвергам", "пятницам", "субботам"}
	monthGen  = [13]string{"", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
	monthPrep = [13]string{"", "январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре", "октябре", "ноябре", "декабре"}
)

// Describe says the rule in Russian, the way a person would:
// «каждые 2 недели по вторникам и четвергам», «в последнюю пятницу месяца,
// 6 раз», «ежедневно до 31.12.2026». "" for the zero Rule; never "" for a
// parsed rule.
func (r Rule) Describe() string {
	if r.IsZero() {
		return ""
	}
	var s string
	switch r.freq {
	case Daily:
		s = r.describeDaily()
	case Weekly:
		s = r.describeWeekly()
	case Monthly:
		s = r.describeMonthly()
	default:
		s = r.describeYearly()
	}
	if r.count > 0 {
		s += ", " + strconv.Itoa(r.count) + " " + plural(r.count, "раз", "раза", "раз")
	}
	if r.untilKind != untilNone {
		s += " до " + r.until.Format("02.01.2006")
	}
	return s
}

// every is «ежедневно» for interval 1, else «каждые 3 дня» and so on.
func every(n int, single, one, few, many string, gender byte) string {
	if n == 1 {
		return single
	}
	word := plural(n, one, few, many)
	if n%10 == 1 && n%100 != 11 {
		return eachWord(gender) + " " + strconv.Itoa(n) + " " + word
	}
	return "каждые " + strconv.Itoa(n) + " " + word
}

func eachWord(gender byte) string {
	switch gender {
	case 'f':
		return "каждую"
	case 'n':
		return "каждое"
	}
	return "каждый"
}

// plural picks the Russian form for n: one (1, 21), few (2–4, 22–24), many.
func plural(n int, one, few, many string) string {
	n %= 100
	if n >= 11 && n <= 14 {
		return many
	}
	switch n % 10 {
	case 1:
		return one
	case 2, 3, 4:
		return few
	}
	return many
}

func (r Rule) describeDaily() string {
	s := every(r.interval, "ежедневно", "день", "дня", "дней", 'm')
	if days := r.plainDays(); len(days) > 0 {
		if r.interval == 1 {
			s = onDays(days)
		} else {
			s += ", " + onDays(days)
		}
	}
	return r.withMonths(r.withSetPos(s), true)
}

func (r Rule) describeWeekly() string {
	days := r.plainDays()
	var s string
	switch {
	case r.interval == 1 && len(days) == 1:
		s = eachWord(dayGender[days[0]]) + " " + dayAcc[days[0]]
	case r.interval == 1 && len(days) > 1:
		s = onDays(days)
	default:
		s = every(r.interval, "еженедельно", "неделю", "недели", "недель", 'f')
		if len(days) > 0 {
			s += " " + onDays(days)
		}
	}
	return r.withMonths(r.withSetPos(s), true)
}

func (r Rule) describeMonthly() string {
	what := r.daysOfPeriod()
	var s string
	switch {
	case what == "":
		s = every(r.interval, "ежемесячно", "месяц", "месяца", "месяцев", 'm')
	case r.interval == 1 && len(r.byMonth) == 0:
		s = what + " месяца"
		if len(r.byDay) == 0 && !r.onlyLastDay() && len(r.bySetPos) == 0 {
			s = what + " каждого месяца"
		}
	default:
		s = every(r.interval, "ежемесячно", "месяц", "месяца", "месяцев", 'm') + ", " + what
	}
	if what == "" {
		s = r.withSetPos(s)
	}
	return r.withMonths(s, true)
}

func (r Rule) describeYearly() string {
	s := every(r.interval, "ежегодно", "год", "года", "лет", 'm')
	what := r.daysOfPeriod()
	switch {
	case len(r.byMonth) > 0 && len(r.byMonthDay) > 0 && len(r.byDay) == 0 && len(r.bySetPos) == 0 && !hasNegative(r.byMonthDay):
		// «ежегодно 29 февраля», «ежегодно 1 и 15 марта и июня».
		nums := make([]string, len(r.byMonthDay))
		for i, d := range r.byMonthDay {
			nums[i] = strconv.Itoa(d)
		}
		return s + " " + join(nums) + " " + join(pick(monthGen[:], r.byMonth))
	case len(r.byMonth) > 0 && what != "" && len(r.byMonthDay) == 0 && len(r.bySetPos) == 0 && len(r.plainDays()) == len(r.byDay):
		// «ежегодно по понедельникам в марте».
		return s + " " + what + " в " + join(pick(monthPrep[:], r.byMonth))
	case len(r.byMonth) > 0 && what != "":
		// «ежегодно в последнюю пятницу ноября».
		return s + " " + what + " " + join(pick(monthGen[:], r.byMonth))
	case what != "":
		return s + " " + what + " года"
	case len(r.byMonth) > 0:
		return r.withSetPos(s + " в " + join(pick(monthPrep[:], r.byMonth)))
	}
	return r.withSetPos(s)
}

// daysOfPeriod says which days of the month (or year) the rule picks:
// «15-го числа», «в последний день», «во 2-й вторник», «в последний
// рабочий день»; "" when the rule names no days.
func (r Rule) daysOfPeriod() string {
	var parts []string
	if len(r.byMonthDay) > 0 {
		var nums []string
		var last []string
		for _, d := range r.byMonthDay {
			switch {
			case d > 0:
				nums = append(nums, strconv.Itoa(d)+"-го")
			case d == -1:
				last = append(last, "в последний день")
			case d == -2:
				last = append(last, "в предпоследний день")
			default:
				last = append(last, "в "+strconv.Itoa(-d)+"-й день с конца")
			}
		}
		if len(nums) > 0 {
			parts = append(parts, join(nums)+" числа")
		}
		parts = append(parts, last...)
	}
	if len(r.byDay) > 0 {
		if len(r.bySetPos) > 0 {
			return join(append(parts, r.setPosDays()))
		}
		var numbered []string
		for _, d := range r.byDay {
			if d.N != 0 {
				numbered = append(numbered, ordinalDay(d))
			}
		}
		if plain := r.plainDays(); len(plain) > 0 {
			numbered = append(numbered, onDays(plain))
		}
		parts = append(parts, join(numbered))
	} else if len(r.bySetPos) > 0 && len(parts) > 0 {
		return join(parts) + " (" + setPosWords(r.bySetPos, 'm') + " из них)"
	}
	return join(parts)
}

// setPosDays says BYDAY narrowed by BYSETPOS: «в последний рабочий день»,
// «в 1-й выходной», otherwise «в последний из дней: понедельник, среда».
func (r Rule) setPosDays() string {
	days := r.plainDays()
	pos := setPosWords(r.bySetPos, 'm')
	switch {
	case slices.Equal(days, workdays):
		return "в " + pos + " рабочий день"
	case slices.Equal(days, weekend):
		return "в " + pos + " выходной"
	case len(days) == 7:
		return "в " + pos + " день"
	case len(days) == 1:
		return "в " + setPosWords(r.bySetPos, dayGender[days[0]]) + " " + dayAcc[days[0]]
	}
	names := make([]string, 0, len(r.byDay))
	for _, d := range r.byDay {
		names = append(names, dayAcc[d.Day])
	}
	return "в " + pos + " из дней (" + strings.Join(names, ", ") + ")"
}

var (
	workdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	weekend  = []time.Weekday{time.Saturday, time.Sunday}
)

// setPosWords is «1-й», «последний», «1-й и последний» in gender g.
func setPosWords(ps []int, g byte) string {
	words := make([]string, len(ps))
	for i, p := range ps {
		words[i] = ordinal(p, g)
	}
	return join(words)
}

// withSetPos notes a BYSETPOS the phrase could not fold in; callers use it
// only where the phrase has not said it.
func (r Rule) withSetPos(s string) string {
	if len(r.bySetPos) == 0 {
		return s
	}
	return s + " (" + setPosWords(r.bySetPos, 'm') + " по порядку)"
}

// withMonths adds «, в марте и сентябре» when BYMONTH narrows a rule whose
// phrase does not name months yet.
func (r Rule) withMonths(s string, need bool) string {
	if !need || len(r.byMonth) == 0 {
		return s
	}
	return s + ", только в " + join(pick(monthPrep[:], r.byMonth))
}

func (r Rule) onlyLastDay() bool {
	return len(r.byMonthDay) > 0 && !slices.ContainsFunc(r.byMonthDay, func(d int) bool { return d > 0 })
}

// plainDays are the BYDAY weekdays without an ordinal, Monday first.
func (r Rule) plainDays() []time.Weekday {
	var out []time.Weekday
	for _, d := range r.byDay {
		if d.N == 0 && !slices.Contains(out, d.Day) {
			out = append(out, d.Day)
		}
	}
	return out
}

// onDays is «по вторникам и четвергам», «по будним дням», «по выходным».
func onDays(days []time.Weekday) string {
	switch {
	case slices.Equal(days, workdays):
		return "по будним дням"
	case slices.Equal(days, weekend):
		return "по выходным"
	case len(days) == 7:
		return "каждый день"
	}
	return "по " + join(pick(dayDatPl[:], weekdayInts(days)))
}

func weekdayInts(days []time.Weekday) []int {
	out := make([]int, len(days))
	for i, d := range days {
		out[i] = int(d)
	}
	return out
}

// ordinalDay is «во 2-й вторник», «в последнюю пятницу», «в 1-е воскресенье».
func ordinalDay(d WeekdayNum) string {
	g := dayGender[d.Day]
	w := ordinal(d.N, g)
	prep := "в "
	if d.N == 2 || (d.N == 0 && d.Day == time.Tuesday) {
		prep = "во "
	}
	return prep + w + " " + dayAcc[d.Day]
}

// ordinal is the accusative ordinal in gender g: «2-й», «2-ю», «2-е»,
// «последний», «предпоследнюю», «3-й с конца».
func ordinal(n int, g byte) string {
	ending := map[byte]string{'m': "-й", 'f': "-ю", 'n': "-е"}[g]
	switch n {
	case -1:
		return map[byte]string{'m': "последний", 'f': "последнюю", 'n': "последнее"}[g]
	case -2:
		return map[byte]string{'m': "предпоследний", 'f': "предпоследнюю", 'n': "предпоследнее"}[g]
	}
	if n < 0 {
		return strconv.Itoa(-n) + ending + " с конца"
	}
	return strconv.Itoa(n) + ending
}

func pick(words []string, idx []int) []string {
	out := make([]string, len(idx))
	for i, k := range idx {
		out[i] = words[k]
	}
	return out
}

// join is «a», «a и b», «a, b и c».
func join(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " и " + items[len(items)-1]
}

func hasNegative(ns []int) bool {
	return slices.ContainsFunc(ns, func(n int) bool { return n < 0 })
}
