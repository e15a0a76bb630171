package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

type userList struct {
	Count   int              `json:"count"`
	Results []map[string]any `json:"results"`
}

func TestUsersAPIReadMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		for _, m := range e.cast.All() {
			admin := m.Scope.Role == access.RoleAdmin
			t.Run(m.FirstName+" lists users with the fields of their role", func(t *testing.T) {
				var list userList
				if code := e.api(&m, "GET", "/api/users/", nil, &list); code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				if list.Count != 6 || len(list.Results) != 6 {
					t.Fatalf("count %d, results %d", list.Count, len(list.Results))
				}
				for _, u := range list.Results {
					_, hasLogin := u["username"]
					_, hasEmail := u["email"]
					if hasLogin != admin || hasEmail != admin {
						t.Fatalf("admin=%v but a result is %v", admin, u)
					}
					for _, k := range []string{"id", "full_name", "branch", "role", "is_active"} {
						if _, ok := u[k]; !ok {
							t.Fatalf("result lacks %q: %v", k, u)
						}
					}
				}
			})
			t.Run(m.FirstName+" reads one user", func(t *testing.T) {
				var u map[string]any
				if code := e.api(&m, "GET", fmt.Sprintf("/api/users/%d/", e.cast.Boris.ID), nil, &u); code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				if u["full_name"] != "Борис Бородин" {
					t.Fatalf("%v", u)
				}
				if code := e.api(&m, "GET", "/api/users/999999/", nil, nil); code != http.StatusNotFound {
					t.Fatalf("missing user: %d", code)
				}
			})
		}
		t.Run("anonymous callers are refused", func(t *testing.T) {
			if code := e.api(nil, "GET", "/api/users/", nil, nil); code != http.StatusUnauthorized {
				t.Fatalf("status %d", code)
			}
		})
	})
}

func TestUsersAPIWriteMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		for _, m := range e.cast.All() {
			admin := m.Scope.Role == access.RoleAdmin
			t.Run(m.FirstName+" creates a user", func(t *testing.T) {
				body := map[string]any{"username": "new-" + m.Username, "first_name": "Иван", "last_name": "Петров",
					"password": "длинный-пароль", "role": "branch_director", "data_scope": "branch", "branch": e.cast.BranchA}
				var out map[string]any
				code := e.api(&m, "POST", "/api/users/", body, &out)
				switch {
				case admin && (code != http.StatusCreated || out["full_name"] != "Иван Петров" || out["branch_name"] != "Филиал А (Москва)"):
					t.Fatalf("%d %v", code, out)
				case !admin && (code != http.StatusForbidden || out["detail"] == ""):
					t.Fatalf("%d %v, want 403", code, out)
				}
				if _, ok := out["password"]; ok {
					t.Fatal("password is in the answer")
				}
			})
			for _, method := range []string{"PATCH", "PUT"} {
				t.Run(m.FirstName+" changes a user with "+method, func(t *testing.T) {
					body := map[string]any{"username": "vera", "first_name": "Вера", "last_name": "Волкова-" + m.Username}
					code := e.api(&m, method, fmt.Sprintf("/api/users/%d/", e.cast.Vera.ID), body, nil)
					if want := map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[admin]; code != want {
						t.Fatalf("status %d, want %d", code, want)
					}
				})
			}
		}
		t.Run("refused attempts are audited", func(t *testing.T) {
			var n int
			if err := e.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_log WHERE action IN ('user.create', 'user.update') AND outcome = 'denied'`).Scan(&n); err != nil || n != 15 {
				t.Fatalf("denied entries: %d, %v (want 5 creates + 10 updates)", n, err)
			}
		})
		t.Run("an admin's create is audited once", func(t *testing.T) {
			var n int
			if err := e.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND outcome = 'ok'`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("user.create entries: %d, %v", n, err)
			}
		})
	})
}

func TestUsersAPIValidationAndConflicts(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		admin := &e.cast.Admin
		cases := []struct {
			name  string
			body  map[string]any
			field string
			msg   string
		}{
			{"a taken login", map[string]any{"username": "Alisa", "first_name": "А", "last_name": "Б"}, "username", "Пользователь с таким логином уже существует"},
			{"no last name", map[string]any{"username": "x1", "first_name": "А"}, "last_name", "Укажите фамилию"},
			{"a bad e-mail", map[string]any{"username": "x2", "first_name": "А", "last_name": "Б", "email": "нет"}, "email", "Введите правильный адрес электронной почты"},
			{"a missing branch", map[string]any{"username": "x3", "first_name": "А", "last_name": "Б", "branch": 424242}, "branch", "Филиал не найден"},
			{"a weak password", map[string]any{"username": "x4", "first_name": "А", "last_name": "Б", "password": "123"}, "password", "Пароль должен быть не короче 10 символов"},
			{"a wrong type", map[string]any{"username": "x5", "first_name": "А", "last_name": "Б", "is_active": "может быть"}, "is_active", "Неверный тип значения"},
		}
		for _, c := range cases {
			t.Run(c.name+" is a 400 naming the field", func(t *testing.T) {
				var out map[string][]string
				code := e.api(admin, "POST", "/api/users/", c.body, &out)
				if code != http.StatusBadRequest || len(out[c.field]) == 0 || out[c.field][0] != c.msg {
					t.Fatalf("%d %v, want %s: %s", code, out, c.field, c.msg)
				}
			})
		}
		path := fmt.Sprintf("/api/users/%d/", e.cast.Gleb.ID)
		t.Run("a stale version is 409", func(t *testing.T) {
			if code := e.api(admin, "PATCH", path, map[string]any{"first_name": "Глеб", "version": 1}, nil); code != http.StatusOK {
				t.Fatalf("first save: %d", code)
			}
			if code := e.api(admin, "PATCH", path, map[string]any{"first_name": "Гриша", "version": 1}, nil); code != http.StatusConflict {
				t.Fatalf("stale save: %d", code)
			}
		})
		t.Run("PUT needs the required fields", func(t *testing.T) {
			var out map[string][]string
			if code := e.api(admin, "PUT", path, map[string]any{"email": "g@example.ru"}, &out); code != http.StatusBadRequest || len(out["username"]) == 0 {
				t.Fatalf("%d %v", code, out)
			}
		})
		t.Run("an admin cannot deactivate themselves", func(t *testing.T) {
			var out map[string][]string
			code := e.api(admin, "PATCH", fmt.Sprintf("/api/users/%d/", e.cast.Admin.ID), map[string]any{"is_active": false}, &out)
			if code != http.StatusBadRequest || out["is_active"][0] != "Нельзя деактивировать собственную учётную запись" {
				t.Fatalf("%d %v", code, out)
			}
		})
		t.Run("filters and search work through the API", func(t *testing.T) {
			var list userList
			e.api(admin, "GET", "/api/users/?search=%D0%B3%D1%80%D0%BE%D0%BC&role=manager", nil, &list) // «гром»
			if list.Count != 1 || list.Results[0]["username"] != "gleb" {
				t.Fatalf("%+v", list)
			}
			var bad map[string][]string
			if code := e.api(admin, "GET", "/api/users/?role=king&ordering=salary", nil, &bad); code != http.StatusBadRequest || bad["role"] == nil || bad["ordering"] == nil {
				t.Fatalf("%d %v", code, bad)
			}
		})
	})
}

func TestMeAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		alisa := &e.cast.Alisa
		var me map[string]any
		if code := e.api(alisa, "GET", "/api/me/", nil, &me); code != http.StatusOK || me["username"] != "alisa" || me["role"] != "manager" {
			t.Fatalf("%d %v", code, me)
		}
		t.Run("a user changes their own name and zone", func(t *testing.T) {
			var out map[string]any
			code := e.api(alisa, "PATCH", "/api/me/", map[string]any{"first_name": "Алиса", "last_name": "Смирнова", "time_zone": "Asia/Novosibirsk"}, &out)
			if code != http.StatusOK || out["full_name"] != "Алиса Смирнова" || out["time_zone"] != "Asia/Novosibirsk" {
				t.Fatalf("%d %v", code, out)
			}
		})
		t.Run("role and scope cannot be changed here", func(t *testing.T) {
			var out map[string]any
			e.api(alisa, "PATCH", "/api/me/", map[string]any{"role": "admin", "data_scope": "global"}, &out)
			if out["role"] != "manager" || out["data_scope"] != "self" {
				t.Fatalf("%v", out)
			}
		})
		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"an unknown zone", map[string]any{"time_zone": "Mars/Olympus"}, "time_zone"},
			{"a new password without the current one", map[string]any{"password": "новый-пароль-1"}, "current_password"},
			{"a wrong current password", map[string]any{"password": "новый-пароль-1", "current_password": "nope"}, "current_password"},
		}
		for _, c := range cases {
			t.Run(c.name+" is refused", func(t *testing.T) {
				var out map[string][]string
				if code := e.api(alisa, "PATCH", "/api/me/", c.body, &out); code != http.StatusBadRequest || out[c.field] == nil {
					t.Fatalf("%d %v", code, out)
				}
			})
		}
		t.Run("the password changes with the current one", func(t *testing.T) {
			code := e.api(alisa, "PATCH", "/api/me/", map[string]any{"password": "новый-пароль-1", "current_password": dbtest.CastPassword}, nil)
			if code != http.StatusOK {
				t.Fatalf("%d", code)
			}
			if _, err := e.srv.users.Authenticate(t.Context(), "alisa", "новый-пароль-1"); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestAdminUserPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		admin := &e.cast.Admin
		t.Run("the list shows names, not only logins", func(t *testing.T) {
			rec := e.do(admin, "GET", "/admin/users/?role=manager", nil)
			doc, _ := goquery.NewDocumentFromReader(rec.Body)
			if rec.Code != http.StatusOK {
				t.Fatalf("%d", rec.Code)
			}
			var names []string
			doc.Find("[data-testid=user-link]").Each(func(_ int, s *goquery.Selection) { names = append(names, strings.TrimSpace(s.Text())) })
			if strings.Join(names, ",") != "Алиса Аксёнова,Вера Волкова,Глеб Громов" {
				t.Fatalf("names %v", names)
			}
		})
		for _, m := range e.cast.All()[1:] {
			t.Run(m.FirstName+" may not open the admin pages", func(t *testing.T) {
				if rec := e.do(&m, "GET", "/admin/users/", nil); rec.Code != http.StatusForbidden {
					t.Fatalf("%d", rec.Code)
				}
				if rec := e.do(&m, "POST", fmt.Sprintf("/admin/users/%d/password", e.cast.Vera.ID), "new_password=длинный-пароль"); rec.Code != http.StatusForbidden {
					t.Fatalf("reset: %d", rec.Code)
				}
			})
		}
		t.Run("a bad form is shown again with the message beside the field", func(t *testing.T) {
			form := url.Values{"username": {"alisa"}, "first_name": {"Иван"}, "last_name": {""}, "role": {"manager"},
				"data_scope": {"global"}, "branch": {""}, "password": {"длинный-пароль"}, "is_active_field": {"1"}, "is_active": {"on"}}
			rec := e.do(admin, "POST", "/admin/users/", form.Encode())
			doc, _ := goquery.NewDocumentFromReader(rec.Body)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("%d", rec.Code)
			}
			if got := strings.TrimSpace(doc.Find("[data-testid=error-username]").Text()); got != "Пользователь с таким логином уже существует" {
				t.Errorf("username error %q", got)
			}
			if got := strings.TrimSpace(doc.Find("[data-testid=error-last_name]").Text()); got != "Укажите фамилию" {
				t.Errorf("last name error %q", got)
			}
			if v, _ := doc.Find("#f-last_name").Attr("aria-invalid"); v != "true" {
				t.Error("the field is not marked aria-invalid")
			}
			if v, _ := doc.Find("#f-first_name").Attr("value"); v != "Иван" {
				t.Errorf("typed value lost: %q", v)
			}
		})
		t.Run("a good form creates the user", func(t *testing.T) {
			form := url.Values{"username": {"ivan"}, "first_name": {"Иван"}, "last_name": {"Петров"}, "role": {"manager"},
				"data_scope": {"self"}, "branch": {fmt.Sprint(e.cast.BranchB)}, "time_zone": {""}, "password": {"длинный-пароль"},
				"is_active_field": {"1"}, "is_active": {"on"}}
			rec := e.do(admin, "POST", "/admin/users/", form.Encode())
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			u, err := e.srv.users.ByUsername(t.Context(), "ivan")
			if err != nil || u.BranchID != e.cast.BranchB || u.DataScope != access.Self || !u.IsActive {
				t.Fatalf("%+v %v", u, err)
			}
		})
		t.Run("the edit form saves", func(t *testing.T) {
			form := url.Values{"username": {"vera"}, "first_name": {"Вера"}, "last_name": {"Новикова"}, "role": {"branch_director"},
				"data_scope": {"branch"}, "branch": {fmt.Sprint(e.cast.BranchB)}, "version": {"1"}, "is_active_field": {"1"}, "is_active": {"on"}}
			rec := e.do(admin, "POST", fmt.Sprintf("/admin/users/%d/", e.cast.Vera.ID), form.Encode())
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			rec = e.do(admin, "POST", fmt.Sprintf("/admin/users/%d/", e.cast.Vera.ID), form.Encode())
			if rec.Code != http.StatusConflict {
				t.Fatalf("stale form: %d", rec.Code)
			}
		})
		t.Run("the password reset ends the user's sessions", func(t *testing.T) {
			token := e.session(e.cast.Gleb)
			rec := e.do(admin, "POST", fmt.Sprintf("/admin/users/%d/password", e.cast.Gleb.ID), "new_password=123")
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("weak password: %d", rec.Code)
			}
			rec = e.do(admin, "POST", fmt.Sprintf("/admin/users/%d/password", e.cast.Gleb.ID), "new_password=длинный-пароль")
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("%d", rec.Code)
			}
			if _, err := e.srv.users.UserBySession(t.Context(), token, e.srv.cfg.SessionTTL); err == nil {
				t.Fatal("the session survived the reset")
			}
		})
		t.Run("deactivation and activation", func(t *testing.T) {
			path := fmt.Sprintf("/admin/users/%d/active?active=false", e.cast.Darya.ID)
			if rec := e.do(admin, "POST", path, ""); rec.Code != http.StatusSeeOther {
				t.Fatalf("%d", rec.Code)
			}
			if u, _ := e.srv.users.Get(t.Context(), e.cast.Darya.ID); u.IsActive {
				t.Fatal("still active")
			}
			if rec := e.do(admin, "POST", strings.Replace(path, "false", "true", 1), ""); rec.Code != http.StatusSeeOther {
				t.Fatalf("%d", rec.Code)
			}
			if u, _ := e.srv.users.Get(t.Context(), e.cast.Darya.ID); !u.IsActive {
				t.Fatal("not active again")
			}
		})
	})
}

func TestProfilePage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		vera := &e.cast.Vera
		rec := e.do(vera, "GET", "/profile/", nil)
		doc, _ := goquery.NewDocumentFromReader(rec.Body)
		if rec.Code != http.StatusOK || strings.TrimSpace(doc.Find("[data-testid=profile-username]").Text()) != "vera" {
			t.Fatalf("%d", rec.Code)
		}
		t.Run("mismatched new passwords are shown beside the field", func(t *testing.T) {
			rec := e.do(vera, "POST", "/profile/", "current_password="+url.QueryEscape(dbtest.CastPassword)+"&password=abcdefgh1&password2=abcdefgh2")
			doc, _ := goquery.NewDocumentFromReader(rec.Body)
			if rec.Code != http.StatusBadRequest || strings.TrimSpace(doc.Find("[data-testid=error-password2]").Text()) != "Пароли не совпадают" {
				t.Fatalf("%d", rec.Code)
			}
		})
		t.Run("the personal data form saves", func(t *testing.T) {
			rec := e.do(vera, "POST", "/profile/", "first_name=Вера&last_name=Орлова&email=vera@example.ru&time_zone=Asia/Omsk")
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			u, _ := e.srv.users.Get(t.Context(), vera.ID)
			if u.FullName() != "Вера Орлова" || u.TimeZone != "Asia/Omsk" {
				t.Fatalf("%+v", u)
			}
		})
		t.Run("a password change keeps this browser signed in", func(t *testing.T) {
			rec := e.do(vera, "POST", "/profile/", "current_password="+url.QueryEscape(dbtest.CastPassword)+"&password=abcdefgh12&password2=abcdefgh12")
			if rec.Code != http.StatusSeeOther || sessionCookieOf(rec) == nil {
				t.Fatalf("%d, cookie %v", rec.Code, sessionCookieOf(rec))
			}
		})
	})
}
