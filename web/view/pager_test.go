package view

import (
	"strconv"
	"strings"
	"testing"
)

// TestPaginationOfAListThatStopsCounting: a bounded count reads «более
// 1 000» and the page has no «из N»; an exact one reads as before.
func TestPaginationOfAListThatStopsCounting(t *testing.T) {
	url := func(p int) string { return "/tasks/?page=" + strconv.Itoa(p) }
	doc := render(t, Pagination(Pager{Page: 2, Pages: 21, Count: 1000, More: true, URL: url}))
	if got := strings.TrimSpace(one(t, doc, `[data-testid="found"]`).Text()); got != "Найдено: более 1"+thinNBSP+"000" {
		t.Errorf("found = %q", got)
	}
	if got := strings.TrimSpace(one(t, doc, `[data-testid="page-of"]`).Text()); got != "Стр. 2" {
		t.Errorf("page = %q, want «Стр. 2» without a number of pages", got)
	}
	one(t, doc, `[data-testid="page-next"]`)

	doc = render(t, Pagination(Pager{Page: 2, Pages: 3, Count: 120, URL: url}))
	if got := strings.TrimSpace(one(t, doc, `[data-testid="found"]`).Text()); got != "Найдено: 120" {
		t.Errorf("found = %q", got)
	}
	if got := strings.TrimSpace(one(t, doc, `[data-testid="page-of"]`).Text()); got != "Стр. 2 из 3" {
		t.Errorf("page = %q", got)
	}
}
