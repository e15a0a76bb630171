package duplicate_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestRecheckLooksUpDismissalsInOneTextOnPostgres: the re-check of each
// company asks which of its pairs are dismissed with its id bound, so
// every company is the same statement, prepared and planned once per
// connection (with the id written in, each was a text of its own). The
// dismissals still hold and revive as before:
// TestDismissalSticksIsSharedAndRevivesOnChange.
func TestRecheckLooksUpDismissalsInOneTextOnPostgres(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("a session's prepared statements are PostgreSQL's to list")
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		f := newScanFixture(t, db)
		ids := f.add(t,
			company.NewCompany{Name: "Сигма", Address: "Москва, Тверская 1", Phones: phone("+74952222222"), Emails: email("s@sigma.ru")},
			company.NewCompany{Name: "Сигма Плюс", Address: "Москва, Тверская 2", Phones: phone("+74952222222"), Emails: email("s@sigma.ru")},
		)
		f.full(t)
		for _, id := range ids {
			if _, err := f.companies.Update(ctx, f.cast.Admin.Scope, id, input(t, `{"legal_name": "ООО «Сигма»"}`), false); err != nil {
				t.Fatal(err)
			}
		}
		// One connection: the re-check's statements and the look at
		// them share a session (the timeout turns a wait for a second
		// connection into a failure, not a hang).
		db.SetMaxOpenConns(1)
		n, _, err := f.scanner.Recheck(ctx)
		if err != nil || n != 2 {
			t.Fatalf("re-checked %d companies, %v; want 2", n, err)
		}
		var texts int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_prepared_statements
			WHERE statement LIKE '%FROM duplicate_dismissals d%' AND statement LIKE '%(d.a_id = % OR d.b_id = %)%'
			AND statement NOT LIKE '%pg_prepared_statements%'`).Scan(&texts); err != nil {
			t.Fatal(err)
		}
		if texts != 1 {
			t.Errorf("%d statements looked up the dismissals of 2 companies, want 1", texts)
		}
	})
}
