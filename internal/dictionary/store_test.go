package dictionary_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/dictionary"
)

func ptr[T any](v T) *T { return &v }

func TestEveryoneReadsOnlyAdminWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := dictionary.NewStore(db)
		for _, m := range cast.All() {
			for _, k := range dictionary.Kinds {
				if _, _, err := s.List(ctx, m.Scope, k, dictionary.Filter{}); err != nil {
					t.Errorf("%s lists %s: %v", m.Username, k, err)
				}
			}
			if _, err := s.Get(ctx, m.Scope, dictionary.Branches, cast.BranchA); err != nil {
				t.Errorf("%s reads branch A: %v", m.Username, err)
			}
			in := dictionary.Input{Name: ptr("Сфера " + m.Username)}
			_, err := s.Create(ctx, m.Scope, dictionary.Spheres, in)
			if m.Scope.IsAdmin() {
				if err != nil {
					t.Errorf("admin creates: %v", err)
				}
				continue
			}
			if !errors.Is(err, apperr.ErrForbidden) {
				t.Errorf("%s creates: %v, want forbidden", m.Username, err)
			}
			if _, err := s.Update(ctx, m.Scope, dictionary.Branches, cast.BranchA, in); !errors.Is(err, apperr.ErrForbidden) {
				t.Errorf("%s updates: %v, want forbidden", m.Username, err)
			}
			if err := s.Delete(ctx, m.Scope, dictionary.Branches, cast.BranchA, 0); !errors.Is(err, apperr.ErrForbidden) {
				t.Errorf("%s deletes: %v, want forbidden", m.Username, err)
			}
		}
	})
}

func TestDictionaryRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := dictionary.NewStore(db)
		admin := cast.Admin.Scope

		t.Run("a branch gets Moscow time when no zone is given", func(t *testing.T) {
			b, err := s.Create(ctx, admin, dictionary.Branches, dictionary.Input{Code: ptr("C"), Name: ptr("Филиал В")})
			if err != nil {
				t.Fatal(err)
			}
			if b.TimeZone != "Europe/Moscow" || b.Version != 1 {
				t.Fatalf("got %+v", b)
			}
		})
		t.Run("an unknown time zone is refused on its field", func(t *testing.T) {
			_, err := s.Create(ctx, admin, dictionary.Branches, dictionary.Input{Code: ptr("D"), Name: ptr("Д"), TimeZone: ptr("Mars/Olympus")})
			if inv, ok := apperr.AsInvalid(err); !ok || inv["time_zone"] == "" {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("a name that differs only in case is taken", func(t *testing.T) {
			if _, err := s.Create(ctx, admin, dictionary.Spheres, dictionary.Input{Name: ptr("Строительство")}); err != nil {
				t.Fatal(err)
			}
			_, err := s.Create(ctx, admin, dictionary.Spheres, dictionary.Input{Name: ptr("  строительство ")})
			if inv, ok := apperr.AsInvalid(err); !ok || inv["name"] != "Такое название уже есть" {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("a branch code is unique", func(t *testing.T) {
			_, err := s.Create(ctx, admin, dictionary.Branches, dictionary.Input{Code: ptr("a"), Name: ptr("Другой")})
			if inv, ok := apperr.AsInvalid(err); !ok || inv["code"] == "" {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("an empty name is refused", func(t *testing.T) {
			_, err := s.Create(ctx, admin, dictionary.TaskTypes, dictionary.Input{Name: ptr("  ")})
			if inv, ok := apperr.AsInvalid(err); !ok || inv["name"] == "" {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("statuses are numbered in order of creation and listed by position", func(t *testing.T) {
			a, _ := s.Create(ctx, admin, dictionary.CompanyStatuses, dictionary.Input{Name: ptr("Я новый")})
			b, _ := s.Create(ctx, admin, dictionary.CompanyStatuses, dictionary.Input{Name: ptr("А в работе")})
			if b.Position != a.Position+1 {
				t.Fatalf("positions %d, %d", a.Position, b.Position)
			}
			items, n, err := s.List(ctx, cast.Vera.Scope, dictionary.CompanyStatuses, dictionary.Filter{})
			if err != nil || n != 2 || items[0].ID != a.ID {
				t.Fatalf("got %v %d %v", items, n, err)
			}
		})
		t.Run("search folds case and ё", func(t *testing.T) {
			if _, err := s.Create(ctx, admin, dictionary.Spheres, dictionary.Input{Name: ptr("Ёлочные игрушки")}); err != nil {
				t.Fatal(err)
			}
			items, n, err := s.List(ctx, cast.Alisa.Scope, dictionary.Spheres, dictionary.Filter{Search: "ЕЛОЧ"})
			if err != nil || n != 1 || items[0].Name != "Ёлочные игрушки" {
				t.Fatalf("got %v %d %v", items, n, err)
			}
		})
		t.Run("an unknown ordering names the parameter", func(t *testing.T) {
			_, _, err := s.List(ctx, admin, dictionary.Spheres, dictionary.Filter{Ordering: "code"})
			if inv, ok := apperr.AsInvalid(err); !ok || inv["ordering"] == "" {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("a stale version is a conflict", func(t *testing.T) {
			tt, _ := s.Create(ctx, admin, dictionary.TaskTypes, dictionary.Input{Name: ptr("Звонок")})
			up, err := s.Update(ctx, admin, dictionary.TaskTypes, tt.ID, dictionary.Input{Name: ptr("Звонок клиенту"), Version: 1})
			if err != nil || up.Version != 2 {
				t.Fatalf("got %+v %v", up, err)
			}
			_, err = s.Update(ctx, admin, dictionary.TaskTypes, tt.ID, dictionary.Input{Name: ptr("Встреча"), Version: 1})
			if !errors.Is(err, apperr.ErrConflict) {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("a branch in use is not deleted", func(t *testing.T) {
			err := s.Delete(ctx, admin, dictionary.Branches, cast.BranchA, 0)
			if !errors.Is(err, apperr.ErrConflict) || !strings.Contains(err.Error(), "у 2 пользователей") {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("a status used by a company is not deleted", func(t *testing.T) {
			st, _ := s.Create(ctx, admin, dictionary.CompanyStatuses, dictionary.Input{Name: ptr("Клиент")})
			_, err := db.ExecContext(ctx, `INSERT INTO companies (name, status_id, created_at, updated_at) VALUES ('Ромашка', $1, $2, $2)`, st.ID, database.Now())
			if err != nil {
				t.Fatal(err)
			}
			err = s.Delete(ctx, admin, dictionary.CompanyStatuses, st.ID, 0)
			if !errors.Is(err, apperr.ErrConflict) || err.Error() != "Нельзя удалить: используется в 1 компании" {
				t.Fatalf("got %v", err)
			}
		})
		t.Run("an unused entry is deleted and the deletion audited", func(t *testing.T) {
			sp, _ := s.Create(ctx, admin, dictionary.Spheres, dictionary.Input{Name: ptr("Лишняя")})
			if err := s.Delete(ctx, admin, dictionary.Spheres, sp.ID, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, admin, dictionary.Spheres, sp.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("still there: %v", err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'dictionary.delete' AND object_type = 'spheres' AND detail LIKE '%Лишняя%'`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("audit rows %d, %v", n, err)
			}
		})
	})
}

func TestTaskTypesCarryAnIconAndAColour(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := dictionary.NewStore(db)
		it, err := s.Create(ctx, cast.Admin.Scope, dictionary.TaskTypes, dictionary.Input{Name: ptr("Звонок")})
		if err != nil || it.Icon != dictionary.DefaultTaskIcon || it.Color != dictionary.DefaultTaskColor {
			t.Fatalf("create with defaults: %+v, %v", it, err)
		}
		it, err = s.Update(ctx, cast.Admin.Scope, dictionary.TaskTypes, it.ID, dictionary.Input{Icon: ptr("phone"), Color: ptr("#c62828")})
		if err != nil || it.Icon != "phone" || it.Color != "#C62828" {
			t.Fatalf("update: %+v, %v", it, err)
		}
		got, err := s.Get(ctx, cast.Alisa.Scope, dictionary.TaskTypes, it.ID)
		if err != nil || got.Icon != "phone" || got.Color != "#C62828" {
			t.Errorf("get: %+v, %v", got, err)
		}
		for _, in := range []dictionary.Input{{Icon: ptr("rocket")}, {Color: ptr("red")}, {Color: ptr("#12345G")}} {
			if _, err := s.Update(ctx, cast.Admin.Scope, dictionary.TaskTypes, it.ID, in); err == nil {
				t.Errorf("update %+v was taken", in)
			}
		}
		b, _ := got.MarshalJSON()
		if !strings.Contains(string(b), `"icon":"phone"`) || !strings.Contains(string(b), `"color":"#C62828"`) {
			t.Errorf("json = %s", b)
		}
	})
}

func TestATaskTypeInUseIsKept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := dictionary.NewStore(db)
		it, err := s.Create(ctx, cast.Admin.Scope, dictionary.TaskTypes, dictionary.Input{Name: ptr("Встреча")})
		if err != nil {
			t.Fatal(err)
		}
		now := database.Now()
		if _, err := db.ExecContext(ctx, `INSERT INTO tasks (title, type_id, due_at, assigned_to, created_at, updated_at) VALUES ('x', $1, $2, $3, $2, $2)`,
			it.ID, now, cast.Alisa.ID); err != nil {
			t.Fatal(err)
		}
		err = s.Delete(ctx, cast.Admin.Scope, dictionary.TaskTypes, it.ID, 0)
		if err == nil || !strings.Contains(err.Error(), "в 1 задаче") {
			t.Errorf("delete of a type in use: %v", err)
		}
	})
}
