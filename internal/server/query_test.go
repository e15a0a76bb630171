package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
)

func TestQueryValuesNameAPairThatDoesNotRead(t *testing.T) {
	for _, c := range []struct{ raw, field, says string }{
		{"", "", ""},
		{"status=1&status=2&search=%D0%9E%D0%9E%D0%9E+%C2%AB%D0%A0%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0%C2%BB", "", ""},
		{"name=%FF%FE&=&&&", "", ""}, // bytes, not a broken escape: the parsers judge them
		{"status=1;2", "status", "Точка с запятой"},
		{"page=2&responsible=1;DROP", "responsible", "Точка с запятой"},
		{"a;b=1", apperr.NonField, "Точка с запятой"},
		{"search=%zz&page=2", "search", "«%zz»"},
		{"q=%E0%A4%A", "q", "«%A»"},
		{"text=%", "text", "«%»"},
		{"%zz=1", apperr.NonField, "«%zz»"},
		{"ok=1&search=%zz&status=1;2", "search", "«%zz»"}, // the first of them
	} {
		inv := apperr.Invalid{}
		q := queryValues(c.raw, inv)
		if c.field == "" && len(inv) > 0 || c.field != "" && (len(inv) != 1 || !strings.Contains(inv[c.field], c.says)) {
			t.Errorf("queryValues(%q): %v; want %q with a message holding %q", c.raw, inv, c.field, c.says)
		}
		if c.field != "" && q.Has(c.field) {
			t.Errorf("queryValues(%q) kept the pair that does not read: %v", c.raw, q)
		}
	}
}

// TestAnUnreadableQueryIsA400NamingItsParameter: a pair net/url cannot
// read is refused, not dropped. The lists, the tasks, the audit log and
// the duplicate check answer 400 with the parameter's message; the list page says it in
// Russian; the export refuses before a byte of the file, and records the
// attempt (TestExportBadParametersAre400AndAudited).
func TestAnUnreadableQueryIsA400NamingItsParameter(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		for _, c := range []struct{ path, field string }{
			{"/api/companies/?status=1;2", "status"},
			{"/api/companies/?search=%zz", "search"},
			{"/api/contacts/?page=1;2", "page"},
			{"/api/tasks/?search=%zz", "search"},
			{"/api/audit/?action=company.update;user.update", "action"},
			{"/api/companies/duplicates/?name=%D0%A0%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0&inn=7707;083893", "inn"},
		} {
			var body map[string][]string
			if code := e.api(&e.cast.Admin, http.MethodGet, c.path, nil, &body); code != http.StatusBadRequest || len(body[c.field]) != 1 {
				t.Errorf("%s: %d %v, want 400 naming %s", c.path, code, body, c.field)
			}
		}
		rec := e.do(&e.cast.Admin, http.MethodGet, "/companies/?status=1;2", nil)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Точка с запятой не разделяет параметры") {
			t.Errorf("the list page: %d, want 400 with the message", rec.Code)
		}
	})
}
