package server

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// companySet is six companies spread over the branches and responsibles:
// A1 Алиса/A (created by Алиса), A2 Борис/A, B1 Вера/B, B2 Глеб/B,
// X Вера but branch A, N Дарья without a branch.
type companySet struct{ A1, A2, B1, B2, X, N int64 }

func (s companySet) all() []int64 { return []int64{s.A1, s.A2, s.B1, s.B2, s.X, s.N} }

func insertCompanies(t *testing.T, e *testEnv, list ...company.NewCompany) []int64 {
	t.Helper()
	for i := range list {
		if inv := list[i].Normalize(); len(inv) > 0 {
			t.Fatalf("company %d: %v", i, inv)
		}
	}
	var ids []int64
	err := e.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		ids, err = e.srv.companies.InsertBatch(context.Background(), tx, list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func newCompanySet(t *testing.T, e *testEnv) companySet {
	t.Helper()
	c := e.cast
	ids := insertCompanies(t, e,
		company.NewCompany{Name: "Альфа", ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, BranchID: c.BranchA,
			INN: "7707083893", Phones: []company.Phone{{Value: "+7 (495) 123-45-67", Kind: "work", Comment: "секретарь"}}},
		company.NewCompany{Name: "Бета", ResponsibleID: c.Boris.ID, CreatedBy: c.Boris.ID, BranchID: c.BranchA},
		company.NewCompany{Name: "Вега", ResponsibleID: c.Vera.ID, CreatedBy: c.Vera.ID, BranchID: c.BranchB},
		company.NewCompany{Name: "Гамма", ResponsibleID: c.Gleb.ID, CreatedBy: c.Gleb.ID, BranchID: c.BranchB},
		company.NewCompany{Name: "Икс", ResponsibleID: c.Vera.ID, CreatedBy: c.Admin.ID, BranchID: c.BranchA},
		company.NewCompany{Name: "Ноль", ResponsibleID: c.Darya.ID, CreatedBy: c.Darya.ID},
	)
	return companySet{ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]}
}

func TestCompanyEndpointsAuthorizationMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		all := set.all()
		c := e.cast
		matrix := []struct {
			who             dbtest.Member
			see, edit, drop []int64
		}{
			{c.Admin, all, all, all},
			{c.Alisa, []int64{set.A1}, []int64{set.A1}, nil},
			{c.Boris, []int64{set.A1, set.A2, set.X}, []int64{set.A1, set.A2, set.X}, []int64{set.A1, set.A2, set.X}},
			{c.Vera, []int64{set.B1, set.X}, []int64{set.B1, set.X}, nil},
			{c.Gleb, all, []int64{set.B2}, nil},
			{c.Darya, all, all, all},
		}
		want := func(id int64, see, allowed []int64, ok int) int {
			switch {
			case slices.Contains(allowed, id):
				return ok
			case slices.Contains(see, id):
				return http.StatusForbidden
			}
			return http.StatusNotFound
		}
		for _, m := range matrix {
			t.Run(m.who.Username+" gets 200, 403 or 404 exactly as the role says", func(t *testing.T) {
				var page struct {
					Count   int               `json:"count"`
					Results []company.Company `json:"results"`
				}
				if code := e.api(&m.who, "GET", "/api/companies/", nil, &page); code != http.StatusOK || page.Count != len(m.see) {
					t.Errorf("list: %d, count %d, want %d", code, page.Count, len(m.see))
				}
				for _, id := range all {
					path := fmt.Sprintf("/api/companies/%d/", id)
					if code := e.api(&m.who, "GET", path, nil, nil); code != want(id, m.see, m.see, http.StatusOK) {
						t.Errorf("GET %d: %d", id, code)
					}
					if code := e.api(&m.who, "PATCH", path, map[string]any{"address": "Москва"}, nil); code != want(id, m.see, m.edit, http.StatusOK) {
						t.Errorf("PATCH %d: %d", id, code)
					}
				}
			})
		}
		// A refused change is in the audit log.
		var denied int
		if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'company.update' AND outcome = 'denied'`).Scan(&denied); err != nil || denied == 0 {
			t.Errorf("denied updates audited: %d, %v", denied, err)
		}
		for _, m := range matrix {
			t.Run(m.who.Username+" may delete only what the role allows", func(t *testing.T) {
				for _, id := range all {
					if slices.Contains(m.drop, id) {
						continue
					}
					if code := e.api(&m.who, "DELETE", fmt.Sprintf("/api/companies/%d/", id), nil, nil); code != want(id, m.see, nil, 0) {
						t.Errorf("DELETE %d: %d", id, code)
					}
				}
			})
		}
		for _, who := range []dbtest.Member{c.Admin, c.Boris, c.Darya} {
			t.Run(who.Username+" deletes a company of branch A with 204", func(t *testing.T) {
				id := insertCompanies(t, e, company.NewCompany{Name: "Удаляемая", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA})[0]
				if code := e.api(&who, "DELETE", fmt.Sprintf("/api/companies/%d/", id), nil, nil); code != http.StatusNoContent {
					t.Errorf("DELETE: %d", code)
				}
			})
		}
	})
}

func TestCompanyAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		alisa := e.cast.Alisa
		admin := e.cast.Admin

		t.Run("create answers 201 with the company, responsible defaulting to the caller", func(t *testing.T) {
			var got company.Company
			code := e.api(&alisa, "POST", "/api/companies/", map[string]any{
				"name": "Новая", "inn": "500100732259", "phones": []any{"8 916 123-45-67", map[string]any{"value": "+7 495 000 00 00", "kind": "fax"}},
				"emails": []any{"Info@New.ru"},
			}, &got)
			if code != http.StatusCreated || got.ID == 0 || *got.ResponsibleID != alisa.ID || got.ResponsibleName != "Алиса Аксёнова" ||
				len(got.Phones) != 2 || got.Phones[1].Kind != "fax" || got.BranchName == "" || got.Version != 1 {
				t.Errorf("%d %+v", code, got)
			}
		})
		t.Run("bad input answers 400 with Russian messages per field", func(t *testing.T) {
			var errs map[string][]string
			code := e.api(&alisa, "POST", "/api/companies/", map[string]any{"name": "", "inn": "123", "phones": []string{"abc"}}, &errs)
			if code != http.StatusBadRequest || len(errs["name"]) != 1 || errs["inn"][0] != "ИНН должен состоять из 10 или 12 цифр" ||
				errs["phones"][0] != "Телефон 1: неверный номер" {
				t.Errorf("%d %v", code, errs)
			}
		})
		t.Run("a stale version answers 409", func(t *testing.T) {
			var body map[string]any
			code := e.api(&admin, "PATCH", fmt.Sprintf("/api/companies/%d/", set.B1), map[string]any{"name": "X", "version": 99}, &body)
			if code != http.StatusConflict || body["code"] != "conflict" {
				t.Errorf("%d %v", code, body)
			}
		})
		t.Run("PUT replaces the company", func(t *testing.T) {
			var got company.Company
			code := e.api(&admin, "PUT", fmt.Sprintf("/api/companies/%d/", set.A1), map[string]any{"name": "Альфа-2", "version": 1}, &got)
			if code != http.StatusOK || got.Name != "Альфа-2" || got.INN != "" || len(got.Phones) != 0 || got.Version != 2 {
				t.Errorf("%d %+v", code, got)
			}
		})
		t.Run("search by a phone typed another way finds the company with its reason", func(t *testing.T) {
			e.api(&admin, "PATCH", fmt.Sprintf("/api/companies/%d/", set.B2), map[string]any{"phones": []string{"8 (383) 222-33-44"}}, nil)
			var page struct {
				Count   int               `json:"count"`
				Results []company.Company `json:"results"`
			}
			code := e.api(&admin, "GET", "/api/companies/?search="+url.QueryEscape("+7 383 2223344"), nil, &page)
			if code != http.StatusOK || page.Count != 1 || page.Results[0].Match == nil || page.Results[0].Match.Field != "phone" {
				t.Errorf("%d %+v", code, page)
			}
		})
		t.Run("filters and ordering", func(t *testing.T) {
			var page struct {
				Count   int               `json:"count"`
				Next    *string           `json:"next"`
				Results []company.Company `json:"results"`
			}
			code := e.api(&admin, "GET", fmt.Sprintf("/api/companies/?branch=%d&ordering=-name&page_size=1", e.cast.BranchB), nil, &page)
			if code != http.StatusOK || page.Count != 2 || page.Results[0].Name != "Гамма" || page.Next == nil {
				t.Errorf("%d %+v", code, page)
			}
		})
		for _, param := range []string{"branch", "responsible", "status", "sphere", "ordering", "page"} {
			t.Run("a bad "+param+" answers 400 naming the parameter", func(t *testing.T) {
				var errs map[string][]string
				if code := e.api(&admin, "GET", "/api/companies/?"+param+"=abc", nil, &errs); code != http.StatusBadRequest || len(errs[param]) == 0 {
					t.Errorf("%d %v", code, errs)
				}
			})
		}
		t.Run("a missing company answers 404", func(t *testing.T) {
			if code := e.api(&admin, "GET", "/api/companies/999999/", nil, nil); code != http.StatusNotFound {
				t.Errorf("%d", code)
			}
		})
	})
}

func TestCompanyTrash(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		admin, gleb, boris := e.cast.Admin, e.cast.Gleb, e.cast.Boris
		if code := e.api(&boris, "DELETE", fmt.Sprintf("/api/companies/%d/", set.A2), nil, nil); code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
		var page struct {
			Count   int               `json:"count"`
			Results []company.Company `json:"results"`
		}
		if code := e.api(&gleb, "GET", "/api/companies/?deleted=true", nil, nil); code != http.StatusForbidden {
			t.Errorf("trash for a manager: %d", code)
		}
		if code := e.api(&admin, "GET", "/api/companies/?deleted=true", nil, &page); code != http.StatusOK || page.Count != 1 || page.Results[0].DeletedByName != "Борис Бородин" {
			t.Errorf("trash: %d %+v", code, page)
		}
		rec := e.do(&admin, "GET", "/admin/trash/companies/", nil)
		doc := parseHTML(t, rec.Body.String())
		if rec.Code != http.StatusOK || doc.Find(`[data-testid="trash-row"]`).Length() != 1 {
			t.Errorf("trash page: %d", rec.Code)
		}
		if rec := e.do(&gleb, "GET", "/admin/trash/companies/", nil); rec.Code != http.StatusForbidden {
			t.Errorf("trash page for a manager: %d", rec.Code)
		}
		if code := e.api(&boris, "POST", fmt.Sprintf("/api/companies/%d/restore/", set.A2), nil, nil); code != http.StatusForbidden {
			t.Errorf("restore by a director: %d", code)
		}
		rec = e.do(&admin, "POST", fmt.Sprintf("/admin/trash/companies/%d/restore", set.A2), "")
		if rec.Code != http.StatusSeeOther {
			t.Errorf("restore page: %d %s", rec.Code, rec.Body.String())
		}
		if code := e.api(&boris, "GET", fmt.Sprintf("/api/companies/%d/", set.A2), nil, nil); code != http.StatusOK {
			t.Errorf("restored company: %d", code)
		}
	})
}

func parseHTML(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestCompanyPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		alisa, admin := e.cast.Alisa, e.cast.Admin

		t.Run("the list shows the visible companies with their phone", func(t *testing.T) {
			rec := e.do(&alisa, "GET", "/companies/", nil)
			doc := parseHTML(t, rec.Body.String())
			rows := doc.Find(`[data-testid="companies-table"] [data-testid="company-row"]`)
			if rec.Code != http.StatusOK || rows.Length() != 1 || rows.Find(`[data-testid="company-name"]`).Text() != "Альфа" {
				t.Fatalf("%d rows %d", rec.Code, rows.Length())
			}
			if href, _ := rows.Find(`a[href^="tel:"]`).Attr("href"); href != "tel:+74951234567" {
				t.Errorf("phone link %q", href)
			}
		})
		t.Run("a search shows why each row was found", func(t *testing.T) {
			rec := e.do(&admin, "GET", "/companies/?search=7707083893", nil)
			doc := parseHTML(t, rec.Body.String())
			if got := doc.Find(`[data-testid="match-label"]`).First().Text(); got != "Найдено: ИНН" {
				t.Errorf("match label %q", got)
			}
		})
		t.Run("nothing found shows the empty state", func(t *testing.T) {
			doc := parseHTML(t, e.do(&admin, "GET", "/companies/?search=zzzz", nil).Body.String())
			if !strings.Contains(doc.Find(`[data-testid="empty"]`).Text(), "Компаний не найдено") {
				t.Error("no empty state")
			}
		})
		t.Run("an invalid form comes back with 400 and the message beside the field", func(t *testing.T) {
			form := url.Values{"name": {"Ромашка"}, "inn": {"7707083894"}, "phone": {"84951112233", "12"}, "phone_kind": {"work", "work"}}
			rec := e.do(&alisa, "POST", "/companies/", form.Encode())
			doc := parseHTML(t, rec.Body.String())
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d", rec.Code)
			}
			if got := doc.Find(`[data-testid="error-inn"]`).Text(); got != "Неверная контрольная сумма ИНН" {
				t.Errorf("error-inn %q", got)
			}
			if v, _ := doc.Find(`[data-testid="field-inn"] input`).Attr("aria-invalid"); v != "true" {
				t.Errorf("aria-invalid %q", v)
			}
			if got := doc.Find(`[data-testid="error-phones"]`).Text(); got != "Телефон 2: неверный номер" {
				t.Errorf("error-phones %q", got)
			}
			if v, _ := doc.Find(`[data-testid="field-name"] input`).Attr("value"); v != "Ромашка" {
				t.Errorf("typed name lost: %q", v)
			}
		})
		t.Run("a valid form creates the company and redirects to its card", func(t *testing.T) {
			form := url.Values{"name": {"Ромашка"}, "inn": {"5001007329"}, "phone": {"8 495 111-22-33", ""}, "phone_kind": {"work", "work"},
				"phone_comment": {"бухгалтерия", ""}}
			rec := e.do(&alisa, "POST", "/companies/", form.Encode())
			if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/companies/") {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			card := e.do(&alisa, "GET", rec.Header().Get("Location"), nil)
			doc := parseHTML(t, card.Body.String())
			if card.Code != http.StatusOK || doc.Find(`[data-testid="company-card"]`).Length() != 1 ||
				!strings.Contains(doc.Find(`[data-testid="company-phones"]`).Text(), "бухгалтерия") {
				t.Errorf("card %d", card.Code)
			}
		})
		t.Run("the edit form saves and the card shows the change", func(t *testing.T) {
			rec := e.do(&alisa, "GET", fmt.Sprintf("/companies/%d/edit", set.A1), nil)
			doc := parseHTML(t, rec.Body.String())
			if rec.Code != http.StatusOK || doc.Find(`[data-testid="company-save"]`).Length() != 1 {
				t.Fatalf("edit form %d", rec.Code)
			}
			if doc.Find(`[data-testid="field-responsible"]`).Length() != 0 {
				t.Error("a manager is offered the responsible select")
			}
			form := url.Values{"name": {"Альфа Плюс"}, "version": {"1"}}
			rec = e.do(&alisa, "POST", fmt.Sprintf("/companies/%d/", set.A1), form.Encode())
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("save %d %s", rec.Code, rec.Body.String())
			}
			rec = e.do(&alisa, "POST", fmt.Sprintf("/companies/%d/", set.A1), form.Encode())
			if rec.Code != http.StatusConflict {
				t.Errorf("stale form: %d", rec.Code)
			}
		})
		t.Run("a page outside the scope is 404", func(t *testing.T) {
			if rec := e.do(&alisa, "GET", fmt.Sprintf("/companies/%d/", set.B1), nil); rec.Code != http.StatusNotFound {
				t.Errorf("%d", rec.Code)
			}
		})
		t.Run("the delete form is refused for a manager and works for an admin", func(t *testing.T) {
			if rec := e.do(&alisa, "POST", fmt.Sprintf("/companies/%d/delete", set.A1), ""); rec.Code != http.StatusForbidden {
				t.Errorf("manager: %d", rec.Code)
			}
			if rec := e.do(&admin, "POST", fmt.Sprintf("/companies/%d/delete", set.A1), ""); rec.Code != http.StatusSeeOther {
				t.Errorf("admin: %d", rec.Code)
			}
		})
	})
}

// TestCompanyListFitsTheViewer: a manager who sees only their own
// companies is not offered the branch and responsible filters, which could
// not narrow anything, and an empty list speaks of their companies with
// the next step; an admin keeps every filter.
func TestCompanyListFitsTheViewer(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		t.Run("a self-scope manager reads «У вас пока нет компаний» and no branch filter", func(t *testing.T) {
			rec := e.do(&e.cast.Alisa, "GET", "/companies/", nil)
			doc := parseHTML(t, rec.Body.String())
			empty := doc.Find(`[data-testid="empty"]`)
			if rec.Code != http.StatusOK || !strings.Contains(empty.Text(), "У вас пока нет компаний") {
				t.Fatalf("%d empty state %q", rec.Code, empty.Text())
			}
			if href, _ := empty.Find(`[data-testid="empty-action"]`).Attr("href"); href != "/companies/new" {
				t.Errorf("next step %q", href)
			}
			for _, f := range []string{"field-branch", "field-responsible"} {
				if doc.Find(`[data-testid="`+f+`"]`).Length() != 0 {
					t.Errorf("%s is offered", f)
				}
			}
			if doc.Find(`[data-testid="field-status"]`).Length() != 1 {
				t.Error("the status filter is gone too")
			}
		})
		t.Run("a self-scope manager's empty contact list speaks of their contacts", func(t *testing.T) {
			doc := parseHTML(t, e.do(&e.cast.Alisa, "GET", "/contacts/", nil).Body.String())
			if got := doc.Find(`[data-testid="empty"]`).Text(); !strings.Contains(got, "У вас пока нет контактов") {
				t.Errorf("empty state %q", got)
			}
		})
		t.Run("an admin keeps every filter", func(t *testing.T) {
			doc := parseHTML(t, e.do(&e.cast.Admin, "GET", "/companies/", nil).Body.String())
			for _, f := range []string{"field-branch", "field-responsible", "field-status", "field-sphere"} {
				if doc.Find(`[data-testid="`+f+`"]`).Length() != 1 {
					t.Errorf("%s is missing", f)
				}
			}
			if got := doc.Find(`[data-testid="empty"]`).Text(); strings.Contains(got, "У вас") {
				t.Errorf("admin's empty state %q", got)
			}
		})
		t.Run("the filters fold counts the filters in use", func(t *testing.T) {
			doc := parseHTML(t, e.do(&e.cast.Admin, "GET", "/companies/?search=zz&status=1", nil).Body.String())
			if got := strings.TrimSpace(doc.Find(`[data-testid="filters-toggle"]`).Text()); got != "Фильтры (2)" {
				t.Errorf("toggle %q", got)
			}
		})
	})
}

// TestFormsOfferOneBlankRow: the company and contact forms render one
// empty phone and e-mail row (not a wall of fixed empty rows) and the
// «+ ещё телефон» buttons that the script shows; the server takes as many
// rows as come.
func TestFormsOfferOneBlankRow(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		for _, path := range []string{"/companies/new", "/contacts/new"} {
			t.Run(path+" has one blank row of each", func(t *testing.T) {
				doc := parseHTML(t, e.do(&e.cast.Admin, "GET", path, nil).Body.String())
				for _, row := range []string{"phone-row", "email-row"} {
					if n := doc.Find(`[data-testid="` + row + `"]`).Length(); n != 1 {
						t.Errorf("%d %s", n, row)
					}
				}
				for _, b := range []string{"phone-add", "email-add"} {
					if _, hidden := doc.Find(`[data-testid="` + b + `"]`).Attr("hidden"); !hidden {
						t.Errorf("%s is missing or shown without the script", b)
					}
				}
			})
		}
		t.Run("three phone rows are all kept", func(t *testing.T) {
			form := url.Values{"name": {"Три телефона"}, "phone": {"84951112233", "+7 916 111-22-33", "8 812 111-22-33"},
				"phone_kind": {"work", "mobile", "fax"}, "phone_comment": {"", "", ""}}
			rec := e.do(&e.cast.Admin, "POST", "/companies/", form.Encode())
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d", rec.Code)
			}
			doc := parseHTML(t, e.do(&e.cast.Admin, "GET", rec.Header().Get("Location"), nil).Body.String())
			if n := doc.Find(`[data-testid="company-phones"] a[href^="tel:"]`).Length(); n != 3 {
				t.Errorf("%d phones on the card", n)
			}
		})
	})
}
