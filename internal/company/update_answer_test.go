package company_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestUpdateAnswersWhatGetReads: an update that changes no spheres builds
// its answer from the company it read and what it wrote instead of
// reading the company back (issue 6). For every kind of field the answer
// must be what a read after it gives.
func TestUpdateAnswersWhatGetReads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.cast
		for _, tc := range []struct {
			name, patch string
		}{
			{"a new address (the load test's PATCH)", `{"address": "г. Москва, ул. Нагрузочная, д. 7"}`},
			{"a new name and legal name", `{"name": "  Альфа-Трейд ", "legal_name": "ООО «Альфа-Трейд»"}`},
			{"a new ИНН, КПП and ОГРН", `{"inn": "7707083893", "kpp": "770701001", "ogrn": "1027700132195"}`},
			{"a new website", `{"website": "https://alfa.ru/"}`},
			{"a new status", fmt.Sprintf(`{"status": %d}`, f.statuses[1])},
			{"no status", `{"status": null}`},
			{"another branch", fmt.Sprintf(`{"branch": %d}`, c.BranchB)},
			{"another responsible with a branch given", fmt.Sprintf(`{"responsible": %d, "branch": %d}`, c.Gleb.ID, c.BranchA)},
			{"another responsible bringing their branch", fmt.Sprintf(`{"responsible": %d}`, c.Vera.ID)},
			{"new phones", `{"phones": [{"value": "8 (495) 123-45-67", "kind": "work", "comment": "приёмная"}, {"value": "+7 916 000-00-01 доб. 12"}]}`},
			{"no phones", `{"phones": []}`},
			{"new e-mails", `{"emails": ["Info@Alfa.RU", {"value": "sales@alfa.ru", "kind": "work"}]}`},
			{"new spheres", fmt.Sprintf(`{"spheres": [%d, %d]}`, f.spheres[1], f.spheres[0])},
			{"nothing new", `{"address": "г. Москва, ул. Нагрузочная, д. 7"}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := f.store.Update(ctx, c.Admin.Scope, f.A1, input(t, tc.patch), false)
				if err != nil {
					t.Fatal(err)
				}
				got.Duplicates = nil
				want, err := f.store.Get(ctx, c.Admin.Scope, f.A1)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("the answer\n%+v\nis not what Get reads\n%+v", got, want)
				}
			})
		}
	})
}

// TestAStaleUpdateWritesNothing: a version that is no longer the
// company's (someone saved it since) is a conflict and leaves the row,
// its phones and the audit log as they were.
func TestAStaleUpdateWritesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		admin := f.cast.Admin.Scope
		seen, err := f.store.Get(ctx, admin, f.A2)
		if err != nil {
			t.Fatal(err)
		}
		before, err := f.store.Update(ctx, admin, f.A2, input(t, `{"address": "Сохранил другой"}`), false)
		if err != nil {
			t.Fatal(err)
		}
		before.Duplicates = nil
		entries := func() int {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		logged := entries()
		_, err = f.store.Update(ctx, admin, f.A2, input(t, fmt.Sprintf(`{"address": "Новый адрес", "phones": ["84951112233"], "version": %d}`, seen.Version)), false)
		if !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("err = %v, want a conflict", err)
		}
		after, err := f.store.Get(ctx, admin, f.A2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, before) {
			t.Errorf("the company changed:\n%+v\n%+v", after, before)
		}
		if n := entries(); n != logged {
			t.Errorf("%d audit entries, want %d", n, logged)
		}
		if _, err := audit.Verify(ctx, db); err != nil {
			t.Errorf("the audit chain: %v", err)
		}
	})
}
