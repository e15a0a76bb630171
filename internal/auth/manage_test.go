package auth_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func ptr[T any](v T) *T { return &v }

func TestOnlyAdminsManageUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		store := auth.NewStore(db)
		ctx := context.Background()
		for _, m := range cast.All() {
			allowed := m.Scope.Role == access.RoleAdmin
			t.Run(m.FirstName+" creates, edits and resets a password", func(t *testing.T) {
				_, err := store.Create(ctx, m.Scope, auth.UserInput{Username: ptr("new-" + m.Username), FirstName: ptr("Иван"),
					LastName: ptr("Петров"), Password: ptr("длинный-пароль")})
				check(t, "Create", err, allowed)
				_, err = store.Update(ctx, m.Scope, cast.Vera.ID, auth.UserInput{FirstName: ptr("Верочка")})
				check(t, "Update", err, allowed)
				err = store.ResetPassword(ctx, m.Scope, cast.Gleb.ID, "другой-пароль", false)
				check(t, "ResetPassword", err, allowed)
			})
			t.Run(m.FirstName+" lists users", func(t *testing.T) {
				users, n, err := store.List(ctx, m.Scope, auth.UserFilter{})
				if err != nil || n < 6 || len(users) != n {
					t.Fatalf("List: %d of %d, %v", len(users), n, err)
				}
			})
		}
		if _, _, err := store.List(ctx, access.Scope{}, auth.UserFilter{}); err == nil {
			t.Error("the zero scope listed users")
		}
	})
}

func check(t *testing.T, what string, err error, allowed bool) {
	t.Helper()
	switch {
	case allowed && err != nil:
		t.Errorf("%s: %v, want success", what, err)
	case !allowed && !errors.Is(err, apperr.ErrForbidden):
		t.Errorf("%s: %v, want ErrForbidden", what, err)
	}
}

func TestUserValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		store := auth.NewStore(db)
		ctx := context.Background()
		admin := cast.Admin.Scope
		valid := func() auth.UserInput {
			return auth.UserInput{Username: ptr("ivan"), FirstName: ptr("Иван"), LastName: ptr("Петров"), Password: ptr("длинный-пароль")}
		}
		cases := []struct {
			name   string
			change func(in *auth.UserInput)
			field  string
			msg    string
		}{
			{"a taken login in another case is refused", func(in *auth.UserInput) { in.Username = ptr("ALISA") }, "username", "Пользователь с таким логином уже существует"},
			{"a login with spaces or Cyrillic is refused", func(in *auth.UserInput) { in.Username = ptr("иван петров") }, "username", "Логин может содержать только латинские буквы, цифры и символы @ . + - _"},
			{"an empty login is refused", func(in *auth.UserInput) { in.Username = ptr(" ") }, "username", "Укажите логин"},
			{"a first name is required", func(in *auth.UserInput) { in.FirstName = ptr("") }, "first_name", "Укажите имя"},
			{"a last name is required", func(in *auth.UserInput) { in.LastName = nil }, "last_name", "Укажите фамилию"},
			{"a malformed e-mail is refused", func(in *auth.UserInput) { in.Email = ptr("ivan@") }, "email", "Введите правильный адрес электронной почты"},
			{"an unknown role is refused", func(in *auth.UserInput) { in.Role = ptr(access.Role("boss")) }, "role", "Выберите роль из списка"},
			{"an unknown scope is refused", func(in *auth.UserInput) { in.DataScope = ptr(access.DataScope("all")) }, "data_scope", "Выберите область видимости из списка"},
			{"a missing branch is refused", func(in *auth.UserInput) { in.BranchID = auth.OptionalID{Set: true, ID: 999999} }, "branch", "Филиал не найден"},
			{"an unknown time zone is refused", func(in *auth.UserInput) { in.TimeZone = ptr("Europe/Atlantis") }, "time_zone", "Неизвестный часовой пояс «Europe/Atlantis»; выберите из списка или укажите имя IANA, например Europe/Moscow"},
			{"a short password is refused", func(in *auth.UserInput) { in.Password = ptr("1234") }, "password", "Пароль должен быть не короче 10 символов"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				in := valid()
				c.change(&in)
				_, err := store.Create(ctx, admin, in)
				inv, ok := apperr.AsInvalid(err)
				if !ok || inv[c.field] != c.msg {
					t.Fatalf("err = %v, want %s: %s", err, c.field, c.msg)
				}
			})
		}
		t.Run("a valid user is created with the defaults", func(t *testing.T) {
			in := valid()
			in.Username = ptr("  Ivan.Petrov ")
			in.Email = ptr("Ivan@Example.RU")
			u, err := store.Create(ctx, admin, in)
			if err != nil {
				t.Fatal(err)
			}
			if u.Username != "ivan.petrov" || u.Email != "ivan@example.ru" || u.Role != access.RoleManager ||
				u.DataScope != access.Global || !u.IsActive || u.FullName() != "Иван Петров" || !u.HasPassword() {
				t.Fatalf("created %+v", u)
			}
			if _, err := store.Authenticate(ctx, "IVAN.PETROV", "длинный-пароль"); err != nil {
				t.Fatalf("sign in: %v", err)
			}
		})
	})
}

func TestUserUpdateRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		store := auth.NewStore(db)
		ctx := context.Background()
		admin := cast.Admin.Scope

		t.Run("a stale version is a conflict", func(t *testing.T) {
			u, err := store.Update(ctx, admin, cast.Vera.ID, auth.UserInput{LastName: ptr("Волкова-Седова"), Version: ptr(1)})
			if err != nil {
				t.Fatal(err)
			}
			if u.Version != 2 {
				t.Fatalf("version %d", u.Version)
			}
			if _, err := store.Update(ctx, admin, cast.Vera.ID, auth.UserInput{LastName: ptr("Старая"), Version: ptr(1)}); !errors.Is(err, apperr.ErrConflict) {
				t.Fatalf("err = %v, want conflict", err)
			}
		})
		t.Run("an admin cannot deactivate themselves", func(t *testing.T) {
			_, err := store.Update(ctx, admin, cast.Admin.ID, auth.UserInput{IsActive: ptr(false)})
			if inv, ok := apperr.AsInvalid(err); !ok || inv["is_active"] != "Нельзя деактивировать собственную учётную запись" {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("an admin cannot demote themselves", func(t *testing.T) {
			_, err := store.Update(ctx, admin, cast.Admin.ID, auth.UserInput{Role: ptr(access.RoleManager)})
			if inv, ok := apperr.AsInvalid(err); !ok || inv["role"] != "Нельзя снять с себя роль администратора" {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a missing user is not found", func(t *testing.T) {
			if _, err := store.Update(ctx, admin, 999999, auth.UserInput{}); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("the branch can be cleared", func(t *testing.T) {
			u, err := store.Update(ctx, admin, cast.Gleb.ID, auth.UserInput{BranchID: auth.OptionalID{Set: true}})
			if err != nil || u.BranchID != 0 {
				t.Fatalf("%+v, %v", u, err)
			}
		})
		t.Run("changes are audited", func(t *testing.T) {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'user.update' AND object_id = $1`,
				audit(cast.Vera.ID)).Scan(&n); err != nil || n != 1 {
				t.Fatalf("user.update entries for Вера: %d, %v", n, err)
			}
		})
	})
}

func audit(id int64) string { return strconv.FormatInt(id, 10) }

func TestUserDirectorySearchAndFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		store := auth.NewStore(db)
		ctx := context.Background()
		names := func(f auth.UserFilter) []string {
			t.Helper()
			users, _, err := store.List(ctx, cast.Alisa.Scope, f)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]string, len(users))
			for i, u := range users {
				out[i] = u.FirstName
			}
			return out
		}
		cases := []struct {
			name   string
			filter auth.UserFilter
			want   []string
		}{
			{"a Cyrillic name matches in any case and with ё as е", auth.UserFilter{Search: "АКСЕНОВА"}, []string{"Алиса"}},
			{"a login matches by prefix", auth.UserFilter{Search: "bor"}, []string{"Борис"}},
			{"an e-mail matches", auth.UserFilter{Search: "vera@example.ru"}, []string{"Вера"}},
			{"role filters", auth.UserFilter{Role: access.RoleManager}, []string{"Алиса", "Вера", "Глеб"}},
			{"branch filters", auth.UserFilter{BranchID: cast.BranchA}, []string{"Алиса", "Борис"}},
			{"data scope filters", auth.UserFilter{DataScope: access.Self}, []string{"Алиса", "Вера", "Дарья"}},
			{"ordering by login descending", auth.UserFilter{Ordering: "-username", Role: access.RoleManager}, []string{"Вера", "Глеб", "Алиса"}},
			{"pages cut the list", auth.UserFilter{Role: access.RoleManager, Page: 2, PageSize: 2}, []string{"Глеб"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := names(c.filter)
				if len(got) != len(c.want) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
				for i := range got {
					if got[i] != c.want[i] {
						t.Fatalf("got %v, want %v", got, c.want)
					}
				}
			})
		}
	})
}

func TestPurgeExpiredRemovesOnlyDeadCredentials(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := auth.NewStore(db)
		live, err := s.CreateSession(ctx, cast.Alisa.ID, time.Hour, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSession(ctx, cast.Vera.ID, -time.Hour, "127.0.0.1", "test"); err != nil {
			t.Fatal(err)
		}
		n, err := s.PurgeExpired(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("purged %d rows, want 1", n)
		}
		if _, err := s.UserBySession(ctx, live, time.Hour); err != nil {
			t.Fatalf("the live session was purged: %v", err)
		}
	})
}

func TestUserSearchPutsExactMatchesFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		store := auth.NewStore(db)
		ctx := context.Background()
		// Sorted by last name the exact login would come last.
		for _, u := range []struct{ login, first, last string }{
			{"demo-manager-1-10", "Иван", "Алексеев"},
			{"demo-manager-1-11", "Ивонна", "Борисова"},
			{"demo-manager-1-1", "Пётр", "Яковлев"},
			{"demo-manager-1-2", "Анна", "Иванова"},
			{"demo-manager-2-1", "Иван", "Яшин"},
		} {
			_, err := store.Create(ctx, cast.Admin.Scope, auth.UserInput{Username: ptr(u.login), FirstName: ptr(u.first),
				LastName: ptr(u.last), Password: ptr("длинный-пароль")})
			if err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name, search string
			want         []string
		}{
			{"the exact login comes first", "demo-manager-1-1",
				[]string{"demo-manager-1-1", "demo-manager-1-10", "demo-manager-1-11", "demo-manager-1-2", "demo-manager-2-1"}},
			{"the exact login comes first in any case", "DEMO-MANAGER-1-1",
				[]string{"demo-manager-1-1", "demo-manager-1-10", "demo-manager-1-11", "demo-manager-1-2", "demo-manager-2-1"}},
			{"the exact full name comes first, in either order", "Иван Яшин", []string{"demo-manager-2-1"}},
			{"whole words come before prefixes", "иван", []string{"demo-manager-1-10", "demo-manager-2-1", "demo-manager-1-2"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				users, _, err := store.List(ctx, cast.Alisa.Scope, auth.UserFilter{Search: c.search})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, u := range users {
					got = append(got, u.Username)
				}
				if strings.Join(got, " ") != strings.Join(c.want, " ") {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			})
		}
		t.Run("an explicit ordering is kept", func(t *testing.T) {
			users, _, err := store.List(ctx, cast.Alisa.Scope, auth.UserFilter{Search: "demo-manager-1-1", Ordering: "-username"})
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != 5 || users[0].Username != "demo-manager-2-1" {
				t.Fatalf("first %v", users[0].Username)
			}
		})
	})
}
