package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database/dbtest"
)

// auditActions lists the actions recorded on a user, oldest first.
func (e *testEnv) auditActions(t *testing.T, userID int64) []string {
	t.Helper()
	rows, err := e.db.QueryContext(context.Background(), `SELECT action || ':' || detail FROM audit_log WHERE object_type = 'user' AND object_id = $1 ORDER BY id`,
		fmt.Sprint(userID))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPasswordRulesAreAppliedWhereverAPasswordIsSet(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		admin := e.cast.Admin
		cases := []struct{ name, password, want string }{
			{"the login itself", "ivan.petrov", "логином"},
			{"a common password", "qwertyuiop", "распространён"},
			{"a short one", "Кот-1234", "не короче 10"},
			{"one character", "zzzzzzzzzzzz", "повторяющегося"},
		}
		for _, c := range cases {
			t.Run("creating a user with "+c.name+" is a 400 on password", func(t *testing.T) {
				var body map[string][]string
				code := e.api(&admin, "POST", "/api/users/", map[string]any{"username": "ivan.petrov", "first_name": "Иван", "last_name": "Петров",
					"password": c.password}, &body)
				if code != http.StatusBadRequest || len(body["password"]) == 0 || !strings.Contains(body["password"][0], c.want) {
					t.Fatalf("%d %v", code, body)
				}
			})
		}
		t.Run("an admin's reset with the user's login is shown beside the field", func(t *testing.T) {
			rec := e.do(&admin, "POST", fmt.Sprintf("/admin/users/%d/password", e.cast.Gleb.ID), "new_password=gleb-gleb-gleb&must_change_password=on")
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusBadRequest || !strings.Contains(doc.Find(`[data-testid="field-new_password"]`).Text(), "логином") {
				t.Fatalf("%d %s", rec.Code, doc.Find(`[data-testid="password-reset-card"]`).Text())
			}
		})
		t.Run("changing one's own password to a common one is refused", func(t *testing.T) {
			var body map[string][]string
			code := e.api(&e.cast.Vera, "PATCH", "/api/me/", map[string]any{"current_password": dbtest.CastPassword, "password": "пароль2026!"}, &body)
			if code != http.StatusBadRequest || len(body["password"]) == 0 {
				t.Fatalf("%d %v", code, body)
			}
		})
	})
}

func TestAnAdminCanRequireAPasswordChangeAtTheNextSignIn(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		admin, gleb := e.cast.Admin, e.cast.Gleb
		const temporary, own = "временный-пароль-7", "мой-собственный-пароль"
		t.Run("the reset form asks for it by default", func(t *testing.T) {
			rec := e.do(&admin, "GET", fmt.Sprintf("/admin/users/%d/", gleb.ID), nil)
			doc := adminHTML(t, rec.Body.String())
			box := doc.Find(`[data-testid="password-reset-form"] input[name="must_change_password"]`)
			if _, checked := box.Attr("checked"); box.Length() != 1 || !checked {
				t.Fatalf("the box: %d, checked %v", box.Length(), checked)
			}
		})
		t.Run("an admin's reset with the box sets the flag and is audited", func(t *testing.T) {
			rec := e.do(&admin, "POST", fmt.Sprintf("/admin/users/%d/password", gleb.ID), "new_password="+temporary+"&must_change_password=on")
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			var got map[string]any
			if code := e.api(&admin, "GET", fmt.Sprintf("/api/users/%d/", gleb.ID), nil, &got); code != http.StatusOK || got["must_change_password"] != true {
				t.Fatalf("%d %v", code, got)
			}
			acts := e.auditActions(t, gleb.ID)
			if len(acts) == 0 || !strings.HasPrefix(acts[len(acts)-1], "user.password_reset:") || !strings.Contains(acts[len(acts)-1], `"must_change_password":true`) {
				t.Fatalf("audit %v", acts)
			}
		})
		session, err := e.srv.users.CreateSession(context.Background(), gleb.ID, time.Hour, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		asGleb := func(method, path, ct, body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			for _, c := range rec.Result().Cookies() {
				if c.Name == sessionCookie && c.Value != "" {
					session = c.Value
				}
			}
			return rec
		}
		t.Run("every page leads to «Смените пароль»", func(t *testing.T) {
			for _, p := range []string{"/desk/", "/companies/", "/profile/", "/tasks/new"} {
				if rec := asGleb("GET", p, "", ""); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != passwordChangePath {
					t.Fatalf("%s: %d %q", p, rec.Code, rec.Header().Get("Location"))
				}
			}
			rec := asGleb("GET", passwordChangePath, "", "")
			doc := adminHTML(t, rec.Body.String())
			if rec.Code != http.StatusOK || doc.Find(`[data-testid="password-change-form"]`).Length() != 1 {
				t.Fatalf("%d", rec.Code)
			}
		})
		t.Run("the API answers 403 password_change_required, but /api/me/ works", func(t *testing.T) {
			rec := asGleb("GET", "/api/companies/", "", "")
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"code":"password_change_required"`) {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if rec := asGleb("GET", "/api/me/", "", ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"must_change_password":true`) {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
		t.Run("a weak or unchanged new password is refused beside the field", func(t *testing.T) {
			for _, pw := range []string{"qwertyuiop", temporary} {
				rec := asGleb("POST", passwordChangePath, "application/x-www-form-urlencoded",
					"current_password="+temporary+"&password="+pw+"&password2="+pw)
				doc := adminHTML(t, rec.Body.String())
				if rec.Code != http.StatusBadRequest || doc.Find(`[data-testid="field-password"] .field-error, [data-testid="field-password"] [id$="-error"]`).Length() == 0 &&
					!strings.Contains(doc.Find(`[data-testid="field-password"]`).Text(), "арол") {
					t.Fatalf("%s: %d %s", pw, rec.Code, doc.Find(`[data-testid="field-password"]`).Text())
				}
			}
		})
		t.Run("choosing one's own password lets the user in and is audited", func(t *testing.T) {
			rec := asGleb("POST", passwordChangePath, "application/x-www-form-urlencoded",
				"current_password="+temporary+"&password="+own+"&password2="+own)
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/desk/" {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if rec := asGleb("GET", "/desk/", "", ""); rec.Code != http.StatusOK {
				t.Fatalf("the desk: %d", rec.Code)
			}
			if rec := asGleb("GET", "/api/companies/", "", ""); rec.Code != http.StatusOK {
				t.Fatalf("the API: %d", rec.Code)
			}
			acts := e.auditActions(t, gleb.ID)
			if !strings.HasPrefix(acts[len(acts)-1], "user.password_change:") {
				t.Fatalf("audit %v", acts)
			}
		})
		t.Run("PATCH /api/users/{id}/ sets the flag alone, audited as user.update", func(t *testing.T) {
			var got map[string]any
			if code := e.api(&admin, "PATCH", fmt.Sprintf("/api/users/%d/", e.cast.Vera.ID), map[string]any{"must_change_password": true}, &got); code != http.StatusOK ||
				got["must_change_password"] != true {
				t.Fatalf("%d %v", code, got)
			}
			acts := e.auditActions(t, e.cast.Vera.ID)
			if len(acts) == 0 || !strings.Contains(acts[len(acts)-1], "must_change_password") || !strings.HasPrefix(acts[len(acts)-1], "user.update:") {
				t.Fatalf("audit %v", acts)
			}
			if code := e.api(&e.cast.Vera, "GET", "/api/tasks/", nil, nil); code != http.StatusForbidden {
				t.Fatalf("Vera's API: %d", code)
			}
			var me map[string]any
			if code := e.api(&e.cast.Vera, "PATCH", "/api/me/", map[string]any{"current_password": dbtest.CastPassword, "password": own}, &me); code != http.StatusOK ||
				me["must_change_password"] != false {
				t.Fatalf("%d %v", code, me)
			}
		})
		t.Run("a new user from the admin form must change the password by default", func(t *testing.T) {
			rec := e.do(&admin, "GET", "/admin/users/new", nil)
			doc := adminHTML(t, rec.Body.String())
			if _, checked := doc.Find(`input[name="must_change_password"]`).Attr("checked"); !checked {
				t.Fatal("the box is not checked")
			}
		})
	})
}
