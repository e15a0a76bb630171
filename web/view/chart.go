package view

import (
	"strconv"
	"strings"
)

// BarChart is a small column chart drawn on the server as inline SVG (no
// chart library in the browser): the desk's «Выполнено по неделям» and
// «Новые компании по месяцам». The numbers are also given as text — the
// SVG's title and description, and a visually hidden table — so a screen
// reader reads them, and shown as labels in HTML above and below the
// bars, so they stay readable at any width (the SVG itself only stretches).
type BarChart struct {
	ID      string // element id prefix and data-testid, e.g. "chart-done"
	Title   string // «Выполнено задач по неделям»
	Column  string // heading of the table's first column: «Неделя», «Месяц»
	Unit    string // heading of the value column: «Задач», «Компаний»
	Empty   string // shown when every value is zero
	Bars    []Bar
	Summary string // one line under the title, e.g. «Всего за 8 недель: 23»
}

// Bar is one column: its short axis label («30.11», «янв»), the long
// label for the text alternative («30.11–06.12.2026», «январь 2026») and
// the value.
type Bar struct {
	Label, Long string
	Value       int
}

// Chart geometry in SVG user units. The SVG is stretched to the card's
// width (preserveAspectRatio="none"), so only proportions matter.
const (
	chartSlot   = 100 // horizontal room of one bar
	chartBar    = 62  // the bar's width inside its slot
	chartHeight = 100 // plot height; bars use chartTop … chartHeight
	chartTop    = 4   // headroom above the tallest bar
)

// max is the largest value, at least 0.
func (c BarChart) max() int {
	m := 0
	for _, b := range c.Bars {
		m = max(m, b.Value)
	}
	return m
}

// IsEmpty reports whether there is nothing to draw: no bars or all zero.
func (c BarChart) IsEmpty() bool { return c.max() == 0 }

// Total is the sum of the values.
func (c BarChart) Total() int {
	n := 0
	for _, b := range c.Bars {
		n += b.Value
	}
	return n
}

// viewBox is the SVG's coordinate system: one slot per bar.
func (c BarChart) viewBox() string {
	return "0 0 " + strconv.Itoa(max(1, len(c.Bars))*chartSlot) + " " + strconv.Itoa(chartHeight)
}

// barRect is the geometry of bar i: x, y, width and height as attribute
// strings. A zero value gets no height; any other value at least a sliver,
// so 1 beside 100 000 is still seen as "some".
func (c BarChart) barRect(i int) (x, y, w, h string) {
	m := c.max()
	v := c.Bars[i].Value
	height := 0.0
	if m > 0 && v > 0 {
		height = float64(v) / float64(m) * float64(chartHeight-chartTop)
		height = max(height, 1.5)
	}
	left := i*chartSlot + (chartSlot-chartBar)/2
	return strconv.Itoa(left), fmtFloat(float64(chartHeight) - height), strconv.Itoa(chartBar), fmtFloat(height)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// Description is the text alternative of the whole chart: every bar with
// its exact number, «30.11–06.12.2026: 5; 07.12–13.12.2026: 0; …».
func (c BarChart) Description() string {
	parts := make([]string, len(c.Bars))
	for i, b := range c.Bars {
		parts[i] = b.Long + ": " + FormatInt(b.Value)
	}
	return strings.Join(parts, "; ")
}

// ShortNumber is a value as the label above its bar shows it: exact up to
// 9 999, then «12 тыс.», «1,2 млн» — a bar's slot on a phone is narrow.
// The exact number is in the text alternative.
func ShortNumber(n int) string {
	switch {
	case n < 10_000 && n > -10_000:
		return FormatInt(n)
	case n < 1_000_000:
		return FormatInt(n/1000) + thinNBSP + "тыс."
	}
	whole, tenth := n/1_000_000, (n%1_000_000)/100_000
	if tenth == 0 || whole >= 10 {
		return FormatInt(whole) + thinNBSP + "млн"
	}
	return strconv.Itoa(whole) + "," + strconv.Itoa(tenth) + thinNBSP + "млн"
}
