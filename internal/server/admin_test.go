package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAdminIndex(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		t.Run("only the admin opens the admin section, and refusals are audited", func(t *testing.T) {
			for _, m := range e.cast.All() {
				rec := e.do(&m, "GET", "/admin/", nil)
				want := http.StatusForbidden
				if m.Scope.IsAdmin() {
					want = http.StatusOK
				}
				if rec.Code != want {
					t.Fatalf("%s: %d, want %d", m.Username, rec.Code, want)
				}
			}
			if n := adminAuditRows(t, e.db, "admin.access", "denied"); n != 5 {
				t.Fatalf("refusals audited: %d", n)
			}
		})
		t.Run("the index links every part of the section", func(t *testing.T) {
			doc := adminHTML(t, e.do(&e.cast.Admin, "GET", "/admin/", nil).Body.String())
			for _, href := range []string{"/admin/users/", "/admin/dictionaries/branches/", "/admin/dictionaries/company-statuses/",
				"/admin/dictionaries/spheres/", "/admin/dictionaries/task-types/", "/admin/audit/",
				"/admin/trash/companies/", "/admin/trash/contacts/"} {
				if doc.Find(`[data-testid="admin-index"] a[href="`+href+`"]`).Length() == 0 {
					t.Errorf("no link to %s", href)
				}
			}
			if doc.Find(`[data-testid="nav-admin"][aria-current="page"]`).Length() != 1 {
				t.Error("the admin menu item is not active")
			}
		})
	})
}

func TestFlashShowsOnce(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		rec := e.do(&e.cast.Admin, "POST", "/admin/dictionaries/spheres/", "name=Торговля")
		var flash *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if c.Name == flashCookie {
				flash = c
			}
		}
		if flash == nil {
			t.Fatal("no flash cookie after a successful POST")
		}
		load := func(fetchMode string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", "/admin/dictionaries/spheres/", nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(e.cast.Admin)})
			req.AddCookie(flash)
			if fetchMode != "" {
				req.Header.Set("Sec-Fetch-Mode", fetchMode)
			}
			rec := httptest.NewRecorder()
			e.srv.flashes(e.srv).ServeHTTP(rec, req)
			return rec
		}
		// A script's fetch of the page (the browser still following the
		// redirect) leaves the toast to the page the browser shows.
		fetched := load("cors")
		if adminHTML(t, fetched.Body.String()).Find(`[data-testid="toast"]`).Length() != 0 {
			t.Fatal("a script's fetch took the toast")
		}
		for _, c := range fetched.Result().Cookies() {
			if c.Name == flashCookie {
				t.Fatal("a script's fetch cleared the flash cookie")
			}
		}
		next := load("navigate")
		doc := adminHTML(t, next.Body.String())
		if got := strings.TrimSpace(doc.Find(`[data-testid="toast"]`).Text()); got != "Запись «Торговля» добавлена" {
			t.Fatalf("toast %q", got)
		}
		cleared := false
		for _, c := range next.Result().Cookies() {
			cleared = cleared || (c.Name == flashCookie && c.MaxAge < 0)
		}
		if !cleared {
			t.Fatal("the flash cookie is not cleared after it is shown")
		}
	})
}
