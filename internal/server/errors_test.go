package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestErrorPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		t.Run("an unknown page is a friendly 404 in the user's frame", func(t *testing.T) {
			rec := e.do(&e.cast.Alisa, "GET", "/no-such-page/", nil)
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusNotFound || doc.Find(`[data-testid="error-title"]`).Text() != "Страница не найдена" {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			if href, _ := doc.Find(`[data-testid="error-home"]`).Attr("href"); href != "/companies/" {
				t.Fatalf("link back %q", href)
			}
			if doc.Find(`[data-testid="user-name"]`).Text() != "Алиса Аксёнова" {
				t.Fatal("not in the user's frame")
			}
		})
		t.Run("an anonymous 404 uses the minimal frame", func(t *testing.T) {
			rec := e.do(nil, "GET", "/no-such-page/", nil)
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusNotFound || doc.Find(`[data-testid="rail"]`).Length() != 0 || doc.Find(`[data-testid="error-page"]`).Length() != 1 {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
		})
		t.Run("a refused admin page is a 403 with the reason", func(t *testing.T) {
			rec := e.do(&e.cast.Boris, "GET", "/admin/", nil)
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusForbidden || doc.Find(`[data-testid="error-title"]`).Text() != "Доступ запрещён" ||
				!strings.Contains(doc.Find(`[data-testid="error-text"]`).Text(), "только администратору") {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
		})
		t.Run("a body too large is a friendly 413", func(t *testing.T) {
			rec := e.do(&e.cast.Admin, "POST", "/admin/dictionaries/spheres/", "name="+strings.Repeat("я", maxBody))
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusRequestEntityTooLarge || doc.Find(`[data-testid="error-title"]`).Text() != "Слишком большой запрос" {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
		})
		t.Run("a throttled request is a friendly 429", func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.srv.renderError(rec, httptest.NewRequest("GET", "/login", nil), http.StatusTooManyRequests, "Слишком много попыток. Повторите позже.")
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusTooManyRequests || doc.Find(`[data-testid="error-title"]`).Text() != "Слишком много запросов" {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
		})
		t.Run("a broken database is a 500 that leaks nothing", func(t *testing.T) {
			session := e.session(e.cast.Gleb)
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/companies/", nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusInternalServerError || doc.Find(`[data-testid="error-title"]`).Text() != "Что-то пошло не так" {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), "closed") {
				t.Fatal("the page shows the internal error")
			}
		})
	})
}
