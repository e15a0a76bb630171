package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/crmprofi/crm/internal/database/dbtest"
)

func loginForm(username, password, next string) string {
	v := url.Values{"username": {username}, "password": {password}}
	if next != "" {
		v.Set("next", next)
	}
	return v.Encode()
}

func sessionCookieOf(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

func TestLoginPage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		t.Run("the page shows the sign-in card", func(t *testing.T) {
			rec := e.do(nil, "GET", "/login?next=/companies/", nil)
			doc, err := goquery.NewDocumentFromReader(rec.Body)
			if err != nil || rec.Code != http.StatusOK {
				t.Fatalf("%d %v", rec.Code, err)
			}
			if got := strings.TrimSpace(doc.Find("[data-testid=login-card] h1").Text()); got != "Вход в CRM ПРОФИ" {
				t.Errorf("title %q", got)
			}
			if v, _ := doc.Find("input[name=next]").Attr("value"); v != "/companies/" {
				t.Errorf("next %q", v)
			}
		})
		t.Run("a wrong password is said plainly and keeps the login", func(t *testing.T) {
			rec := e.do(nil, "POST", "/login", loginForm("alisa", "wrong", ""))
			doc, _ := goquery.NewDocumentFromReader(rec.Body)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d", rec.Code)
			}
			if got := strings.TrimSpace(doc.Find("[data-testid=login-error]").Text()); got != "Неверный логин или пароль" {
				t.Errorf("error %q", got)
			}
			if v, _ := doc.Find("input[name=username]").Attr("value"); v != "alisa" {
				t.Errorf("login kept as %q", v)
			}
			if sessionCookieOf(rec) != nil {
				t.Error("a failed sign-in set a session cookie")
			}
		})
		t.Run("a good password signs in and goes to next", func(t *testing.T) {
			rec := e.do(nil, "POST", "/login", loginForm("Alisa", dbtest.CastPassword, "/companies/?page=2"))
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/companies/?page=2" {
				t.Fatalf("%d → %q", rec.Code, rec.Header().Get("Location"))
			}
			c := sessionCookieOf(rec)
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
				t.Fatalf("cookie %+v", c)
			}
			u, err := e.srv.users.UserBySession(t.Context(), c.Value, e.srv.cfg.SessionTTL)
			if err != nil || u.ID != e.cast.Alisa.ID {
				t.Fatalf("session user %v, %v", u, err)
			}
		})
		for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
			t.Run("next "+next+" is not followed", func(t *testing.T) {
				rec := e.do(nil, "POST", "/login", loginForm("gleb", dbtest.CastPassword, next))
				if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
					t.Fatalf("%d → %q", rec.Code, rec.Header().Get("Location"))
				}
			})
		}
		t.Run("the cookie is Secure behind TLS", func(t *testing.T) {
			req := httptest.NewRequest("POST", "/login", strings.NewReader(loginForm("gleb", dbtest.CastPassword, "")))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.TLS = nil
			e.srv.cfg.TrustProxy = true
			defer func() { e.srv.cfg.TrustProxy = false }()
			req.Header.Set("X-Forwarded-Proto", "https")
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			if c := sessionCookieOf(rec); c == nil || !c.Secure {
				t.Fatalf("cookie %+v", c)
			}
		})
		t.Run("signing in again replaces the old session", func(t *testing.T) {
			old := e.session(e.cast.Boris)
			req := httptest.NewRequest("POST", "/login", strings.NewReader(loginForm("boris", dbtest.CastPassword, "")))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: old})
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			c := sessionCookieOf(rec)
			if c == nil || c.Value == old {
				t.Fatalf("cookie %+v", c)
			}
			if _, err := e.srv.users.UserBySession(t.Context(), old, e.srv.cfg.SessionTTL); err == nil {
				t.Fatal("the old session still works")
			}
		})
		t.Run("sign-out ends the session", func(t *testing.T) {
			token := e.session(e.cast.Darya)
			req := httptest.NewRequest("POST", "/logout", nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
				t.Fatalf("%d → %q", rec.Code, rec.Header().Get("Location"))
			}
			if c := sessionCookieOf(rec); c == nil || c.MaxAge >= 0 {
				t.Fatalf("cookie not cleared: %+v", c)
			}
			if _, err := e.srv.users.UserBySession(t.Context(), token, e.srv.cfg.SessionTTL); err == nil {
				t.Fatal("the session still works")
			}
			var n int
			_ = e.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.logout'`).Scan(&n)
			if n != 1 {
				t.Fatalf("auth.logout entries: %d", n)
			}
		})
	})
}

func TestSafeNext(t *testing.T) {
	cases := map[string]string{
		"":                     "/",
		"/companies/?page=2":   "/companies/?page=2",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"companies":            "/",
		"/login":               "/",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
