package view

import (
	"strconv"
	"strings"
	"testing"
)

func weeks(values ...int) BarChart {
	c := BarChart{ID: "chart-done", Title: "Выполнено задач по неделям", Column: "Неделя", Unit: "Задач", Empty: "Пока ничего не выполнено."}
	for i, v := range values {
		c.Bars = append(c.Bars, Bar{Label: strconv.Itoa(i+1) + ".12", Long: "неделя " + strconv.Itoa(i+1), Value: v})
	}
	return c
}

func TestChartWithZeroDataDrawsFlatBarsAndSaysSo(t *testing.T) {
	doc := render(t, Chart(weeks(0, 0, 0, 0, 0, 0, 0, 0)))
	svg := one(t, doc, "svg")
	if attr(svg, "role") != "img" {
		t.Errorf("svg role = %q", attr(svg, "role"))
	}
	rects := doc.Find("rect.chart-bar")
	if rects.Length() != 8 {
		t.Fatalf("%d bars, want 8", rects.Length())
	}
	for i := range rects.Length() {
		if h := attr(rects.Eq(i), "height"); h != "0.00" {
			t.Errorf("bar %d height %q, want 0", i, h)
		}
	}
	if got := one(t, doc, `[data-testid="chart-done-empty"]`).Text(); got != "Пока ничего не выполнено." {
		t.Errorf("empty note %q", got)
	}
	if rows := doc.Find("table tbody tr"); rows.Length() != 8 {
		t.Errorf("table has %d rows, want 8", rows.Length())
	}
}

func TestChartWithNoBarsStillRenders(t *testing.T) {
	doc := render(t, Chart(weeks()))
	if attr(one(t, doc, "svg"), "viewBox") != "0 0 100 100" {
		t.Errorf("viewBox of an empty chart: %q", attr(doc.Find("svg"), "viewBox"))
	}
}

func TestChartWithBigNumbersScalesToTheTallestAndKeepsExactNumbersInTheText(t *testing.T) {
	doc := render(t, Chart(weeks(1, 1_234_567, 50_000, 617_283)))
	rects := doc.Find("rect.chart-bar")
	heights := make([]float64, rects.Length())
	for i := range heights {
		h, err := strconv.ParseFloat(attr(rects.Eq(i), "height"), 64)
		if err != nil {
			t.Fatal(err)
		}
		heights[i] = h
	}
	if heights[1] != chartHeight-chartTop {
		t.Errorf("tallest bar %v, want %d", heights[1], chartHeight-chartTop)
	}
	if heights[0] <= 0 {
		t.Error("a bar of 1 beside a million must still show")
	}
	if heights[3] < 47 || heights[3] > 49 {
		t.Errorf("half of the tallest: %v", heights[3])
	}
	desc := one(t, doc, "svg desc").Text()
	if !strings.Contains(desc, "неделя 2: 1\u202f234\u202f567") {
		t.Errorf("description lacks the exact number: %q", desc)
	}
	labels := doc.Find(".chart-values span")
	if got := labels.Eq(1).Text(); got != "1,2\u202fмлн" {
		t.Errorf("short label of 1 234 567 = %q", got)
	}
	if got := labels.Eq(2).Text(); got != "50\u202fтыс." {
		t.Errorf("short label of 50 000 = %q", got)
	}
	if doc.Find(`[data-testid="chart-done-empty"]`).Length() != 0 {
		t.Error("a chart with data shows the empty note")
	}
	if got := doc.Find("table tbody tr").Eq(1).Find("td").Text(); got != "1\u202f234\u202f567" {
		t.Errorf("table value %q", got)
	}
}

func TestShortNumber(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "0"},
		{9999, "9\u202f999"},
		{10_000, "10\u202fтыс."},
		{999_999, "999\u202fтыс."},
		{1_000_000, "1\u202fмлн"},
		{2_500_000, "2,5\u202fмлн"},
		{12_345_678, "12\u202fмлн"},
	} {
		t.Run("formats "+strconv.Itoa(tc.n), func(t *testing.T) {
			if got := ShortNumber(tc.n); got != tc.want {
				t.Errorf("ShortNumber(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}
