package duplicate_test

import (
	"context"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/duplicate"
)

// TestRecheckTakesWhatTheSaveFound: the re-check of a company an update
// has just checked does not ask the engine again (its two statements),
// and keeps the same pairs; a company changed since the save's check is
// asked again.
func TestRecheckTakesWhatTheSaveFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newScanFixture(t, db)
		recent := duplicate.NewRecent()
		f.scanner.Recent = recent
		sharing := company.NewStore(db)
		sharing.ShareChecks(recent)
		ids := f.add(t,
			company.NewCompany{Name: "Сигма", Address: "Москва, Тверская 1", Phones: phone("+74952222222"), Emails: email("s@sigma.ru")},
			company.NewCompany{Name: "Сигма Плюс", Address: "Москва, Тверская 2", Phones: phone("+74952222222"), Emails: email("s@sigma.ru")},
			company.NewCompany{Name: "Альфа", Address: "Казань, Баумана 1"},
		)
		f.full(t)
		pair := key(ids[0], ids[1])
		if _, ok := f.pairs(t)[pair]; !ok {
			t.Fatalf("no pair before the updates: %v", f.pairs(t))
		}
		// recheck after an update of the first company's address by
		// store: the statements it sent and whether the pair stayed.
		recheck := func(t *testing.T, store *company.Store, address string) int64 {
			t.Helper()
			if _, err := store.Update(ctx, f.cast.Admin.Scope, ids[0], input(t, `{"address": "`+address+`"}`), false); err != nil {
				t.Fatal(err)
			}
			before := db.Statements()
			if n := f.recheck(t); n != 1 {
				t.Fatalf("re-checked %d companies, want 1", n)
			}
			sent := db.Statements() - before
			if _, ok := f.pairs(t)[pair]; !ok {
				t.Fatalf("the pair is lost: %v", f.pairs(t))
			}
			return sent
		}
		asked := recheck(t, f.companies, "Москва, Тверская 3")
		if taken := recheck(t, sharing, "Москва, Тверская 4"); taken != asked-2 {
			t.Errorf("the re-check after a shared save sent %d statements, want %d (the engine's two fewer than %d)", taken, asked-2, asked)
		}
		// Saved through the sharing store, then changed by another: the
		// company no longer reads as the save checked it.
		if _, err := sharing.Update(ctx, f.cast.Admin.Scope, ids[0], input(t, `{"address": "Москва, Тверская 5"}`), false); err != nil {
			t.Fatal(err)
		}
		if again := recheck(t, f.companies, "Москва, Тверская 6"); again != asked {
			t.Errorf("the re-check of a company changed after the save sent %d statements, want %d", again, asked)
		}
	})
}
