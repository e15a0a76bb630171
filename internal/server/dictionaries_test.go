package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/crmprofi/crm/internal/database"
)

// countAudit counts the audit entries of action with outcome.
func adminAuditRows(t *testing.T, db *database.DB, action, outcome string) int {
	t.Helper()
	var n int
	err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = $1 AND outcome = $2`, action, outcome).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDictionaryAPIMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		for _, kind := range []string{"branches", "company-statuses", "spheres", "task-types"} {
			t.Run("everyone lists "+kind, func(t *testing.T) {
				for _, m := range e.cast.All() {
					var page struct {
						Count   int              `json:"count"`
						Results []map[string]any `json:"results"`
					}
					if code := e.api(&m, "GET", "/api/"+kind+"/", nil, &page); code != http.StatusOK {
						t.Fatalf("%s: %d", m.Username, code)
					}
				}
			})
		}
		t.Run("everyone reads a branch with its contract fields", func(t *testing.T) {
			for _, m := range e.cast.All() {
				var b map[string]any
				if code := e.api(&m, "GET", "/api/branches/"+strconv.FormatInt(e.cast.BranchB, 10)+"/", nil, &b); code != http.StatusOK {
					t.Fatalf("%s: %d", m.Username, code)
				}
				if b["code"] != "B" || b["time_zone"] != "Asia/Novosibirsk" || b["name"] == nil || b["id"] == nil {
					t.Fatalf("got %v", b)
				}
			}
		})
		t.Run("only the admin writes; the others get 403 and are audited", func(t *testing.T) {
			for _, m := range e.cast.All() {
				var created map[string]any
				code := e.api(&m, "POST", "/api/spheres/", map[string]any{"name": "Сфера " + m.Username}, &created)
				if m.Scope.IsAdmin() {
					if code != http.StatusCreated {
						t.Fatalf("admin create: %d %v", code, created)
					}
					id := strconv.FormatFloat(created["id"].(float64), 'f', 0, 64)
					if code := e.api(&m, "PATCH", "/api/spheres/"+id+"/", map[string]any{"name": "Сфера админа"}, nil); code != http.StatusOK {
						t.Fatalf("admin patch: %d", code)
					}
					if code := e.api(&m, "PUT", "/api/spheres/"+id+"/", map[string]any{"name": "Сфера админа 2"}, nil); code != http.StatusOK {
						t.Fatalf("admin put: %d", code)
					}
					if code := e.api(&m, "DELETE", "/api/spheres/"+id+"/", nil, nil); code != http.StatusNoContent {
						t.Fatalf("admin delete: %d", code)
					}
					continue
				}
				if code != http.StatusForbidden {
					t.Fatalf("%s create: %d", m.Username, code)
				}
				branch := "/api/branches/" + strconv.FormatInt(e.cast.BranchA, 10) + "/"
				for _, method := range []string{"PATCH", "PUT", "DELETE"} {
					var body map[string]any
					if code := e.api(&m, method, branch, map[string]any{"name": "Взлом"}, &body); code != http.StatusForbidden || body["detail"] == "" {
						t.Fatalf("%s %s: %d %v", m.Username, method, code, body)
					}
				}
			}
			if n := adminAuditRows(t, e.db, "dictionary.create", "denied"); n != 5 {
				t.Fatalf("denied creates audited: %d, want 5", n)
			}
			if n := adminAuditRows(t, e.db, "dictionary.delete", "ok"); n != 1 {
				t.Fatalf("deletes audited: %d", n)
			}
		})
		t.Run("a taken name is a 400 on the field", func(t *testing.T) {
			var body map[string][]string
			code := e.api(&e.cast.Admin, "POST", "/api/branches/", map[string]any{"code": "Z", "name": "Филиал А (Москва)"}, &body)
			if code != http.StatusBadRequest || len(body["name"]) != 1 || body["name"][0] != "Такое название уже есть" {
				t.Fatalf("%d %v", code, body)
			}
		})
		t.Run("a stale version is 409", func(t *testing.T) {
			path := "/api/branches/" + strconv.FormatInt(e.cast.BranchB, 10) + "/"
			if code := e.api(&e.cast.Admin, "PATCH", path, map[string]any{"name": "Новосибирск", "version": 1}, nil); code != http.StatusOK {
				t.Fatalf("first patch: %d", code)
			}
			if code := e.api(&e.cast.Admin, "PATCH", path, map[string]any{"name": "Сибирь", "version": 1}, nil); code != http.StatusConflict {
				t.Fatalf("stale patch: %d", code)
			}
		})
		t.Run("a branch in use is not deleted", func(t *testing.T) {
			var body map[string]any
			code := e.api(&e.cast.Admin, "DELETE", "/api/branches/"+strconv.FormatInt(e.cast.BranchA, 10)+"/", nil, &body)
			if code != http.StatusConflict || !strings.HasPrefix(body["detail"].(string), "Нельзя удалить: используется") {
				t.Fatalf("%d %v", code, body)
			}
		})
		t.Run("bad input is 400 on its field, never a half-written entry", func(t *testing.T) {
			branch := "/api/branches/" + strconv.FormatInt(e.cast.BranchB, 10) + "/"
			cases := []struct {
				method, path, field string
				body                any
			}{
				{"POST", "/api/branches/", "time_zone", map[string]any{"code": "N", "name": "Новый", "time_zone": "Moon/Base"}},
				{"POST", "/api/branches/", "code", map[string]any{"name": "Без кода"}},
				{"PUT", branch, "name", map[string]any{"code": "B"}},
				{"POST", "/api/company-statuses/", "position", map[string]any{"name": "Х", "position": "первый"}},
			}
			for _, c := range cases {
				var body map[string][]string
				if code := e.api(&e.cast.Admin, c.method, c.path, c.body, &body); code != http.StatusBadRequest || len(body[c.field]) != 1 {
					t.Fatalf("%s %s: %d %v, want 400 on %s", c.method, c.path, code, body, c.field)
				}
			}
			var page struct{ Count int }
			e.api(&e.cast.Admin, "GET", "/api/branches/", nil, &page)
			if page.Count != 2 {
				t.Fatalf("%d branches after refused writes", page.Count)
			}
		})
		t.Run("search and ordering work on the list", func(t *testing.T) {
			var page struct {
				Count   int
				Results []struct{ Code string }
			}
			e.api(&e.cast.Vera, "GET", "/api/branches/?ordering=-code", nil, &page)
			if page.Count != 2 || page.Results[0].Code != "B" {
				t.Fatalf("ordering: got %+v", page)
			}
			e.api(&e.cast.Vera, "GET", "/api/branches/?search=МОСК", nil, &page)
			if page.Count != 1 || page.Results[0].Code != "A" {
				t.Fatalf("search: got %+v", page)
			}
		})
		t.Run("a missing entry is 404 and a bad ordering 400", func(t *testing.T) {
			if code := e.api(&e.cast.Alisa, "GET", "/api/task-types/999999/", nil, nil); code != http.StatusNotFound {
				t.Fatalf("missing: %d", code)
			}
			if code := e.api(&e.cast.Alisa, "GET", "/api/spheres/?ordering=salary", nil, nil); code != http.StatusBadRequest {
				t.Fatalf("ordering: %d", code)
			}
		})
	})
}

func TestDictionaryAdminPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		admin := &e.cast.Admin
		t.Run("the admin adds a status from the page and sees the toast", func(t *testing.T) {
			rec := e.do(admin, "POST", "/admin/dictionaries/company-statuses/", "name=Клиент")
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			req := e.do(admin, "GET", "/admin/dictionaries/company-statuses/", nil)
			doc := adminHTML(t, req.Body.String())
			if doc.Find(`[data-testid="dictionary-name"]:contains("Клиент")`).Length() != 1 {
				t.Fatal("the new status is not listed")
			}
		})
		t.Run("the admin renames a sphere on its edit page", func(t *testing.T) {
			var sp map[string]any
			e.api(admin, "POST", "/api/spheres/", map[string]any{"name": "Розница"}, &sp)
			path := "/admin/dictionaries/spheres/" + strconv.FormatFloat(sp["id"].(float64), 'f', 0, 64) + "/"
			doc := adminHTML(t, e.do(admin, "GET", path, nil).Body.String())
			if v, _ := doc.Find(`#f-name`).Attr("value"); v != "Розница" {
				t.Fatalf("edit form value %q", v)
			}
			if rec := e.do(admin, "POST", path, "version=1&name=Розничная+торговля"); rec.Code != http.StatusSeeOther {
				t.Fatalf("save: %d", rec.Code)
			}
			rec := e.do(admin, "POST", path, "version=1&name=Опт")
			if rec.Code != http.StatusConflict || adminHTML(t, rec.Body.String()).Find(`[data-testid="form-errors"]`).Length() != 1 {
				t.Fatalf("stale save: %d", rec.Code)
			}
			if rec := e.do(admin, "POST", path+"delete", ""); rec.Code != http.StatusSeeOther {
				t.Fatalf("delete: %d", rec.Code)
			}
		})
		t.Run("an empty name is shown beside the field with 400", func(t *testing.T) {
			rec := e.do(admin, "POST", "/admin/dictionaries/spheres/", "name=+")
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d", rec.Code)
			}
			doc := adminHTML(t, rec.Body.String())
			if doc.Find(`[data-testid="error-name"]`).Text() != "Укажите название" {
				t.Fatalf("no field error: %s", rec.Body.String())
			}
			if _, ok := doc.Find(`#f-name`).Attr("aria-invalid"); !ok {
				t.Fatal("the field is not marked invalid")
			}
		})
		t.Run("a bad time zone is shown beside the field", func(t *testing.T) {
			id := strconv.FormatInt(e.cast.BranchA, 10)
			rec := e.do(admin, "POST", "/admin/dictionaries/branches/"+id+"/", "version=1&code=A&name=Москва&time_zone=Europe/Atlantis")
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusBadRequest || doc.Find(`[data-testid="error-time_zone"]`).Length() != 1 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
		})
		t.Run("deleting a branch in use says why on the edit page", func(t *testing.T) {
			id := strconv.FormatInt(e.cast.BranchA, 10)
			rec := e.do(admin, "POST", "/admin/dictionaries/branches/"+id+"/delete", "")
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusConflict || !strings.Contains(doc.Find(`[data-testid="form-errors"]`).Text(), "Нельзя удалить") {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
		})
		t.Run("managers cannot open the dictionary pages", func(t *testing.T) {
			if rec := e.do(&e.cast.Gleb, "GET", "/admin/dictionaries/spheres/", nil); rec.Code != http.StatusForbidden {
				t.Fatalf("status %d", rec.Code)
			}
			if rec := e.do(&e.cast.Darya, "POST", "/admin/dictionaries/spheres/", "name=Хак"); rec.Code != http.StatusForbidden {
				t.Fatalf("status %d", rec.Code)
			}
		})
		t.Run("an unknown dictionary is 404", func(t *testing.T) {
			if rec := e.do(admin, "GET", "/admin/dictionaries/colours/", nil); rec.Code != http.StatusNotFound {
				t.Fatalf("status %d", rec.Code)
			}
		})
	})
}

func adminHTML(t *testing.T, html string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
