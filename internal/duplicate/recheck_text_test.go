package duplicate_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestRecheckSendsOneTextPerLookUpOnPostgres: the re-check of each
// company binds its ids — which of its pairs are dismissed, the records
// of its candidates, the groups of the companies its pairs touch — so
// every company sends the same statements, prepared and planned once per
// connection (with the ids written in, each company's were texts of
// their own). What the re-check finds and keeps is held by the other
// tests of this file's package (TestDismissalSticksIsSharedAndRevivesOnChange,
// TestRecheckFindsANewDuplicateWithoutAFullScan, TestScanRecordsAreTheEngines).
func TestRecheckSendsOneTextPerLookUpOnPostgres(t *testing.T) {
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
			// Another pair: other candidates, other ids to read.
			company.NewCompany{Name: "Альфа", Address: "Казань, Баумана 1", Phones: phone("+78432333333"), Emails: email("a@alfa.ru")},
			company.NewCompany{Name: "Альфа Плюс", Address: "Казань, Баумана 2", Phones: phone("+78432333333"), Emails: email("a@alfa.ru")},
		)
		f.full(t)
		for _, id := range ids {
			if _, err := f.companies.Update(ctx, f.cast.Admin.Scope, id, input(t, `{"legal_name": "ООО «Сигма»"}`), false); err != nil {
				t.Fatal(err)
			}
		}
		// A third company joins their pair: the groups change.
		f.add(t, company.NewCompany{Name: "Сигма Три", Address: "Москва, Тверская 3", Phones: phone("+74952222222"), Emails: email("s@sigma.ru")})
		// One connection: the re-check's statements and the look at
		// them share a session (the timeout turns a wait for a second
		// connection into a failure, not a hang).
		db.SetMaxOpenConns(1)
		n, _, err := f.scanner.Recheck(ctx)
		if err != nil || n != 5 {
			t.Fatalf("re-checked %d companies, %v; want 5", n, err)
		}
		for _, tc := range []struct{ lookUp, pattern string }{
			{"dismissals", `%FROM duplicate_dismissals d%(d.a_id = % OR d.b_id = %)%`},
			{"candidates' records", `%FROM companies WHERE deleted_at IS NULL AND id %`},
			{"candidates' phones and e-mails", `%FROM company_phones WHERE e164 <> '' AND company_id %`},
			{"groups of the touched companies", `%SELECT a_id, group_id FROM duplicate_pairs WHERE a_id %`},
		} {
			var texts int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_prepared_statements
				WHERE statement LIKE $1 AND statement NOT LIKE '%pg_prepared_statements%'`, tc.pattern).Scan(&texts); err != nil {
				t.Fatal(err)
			}
			if texts != 1 {
				t.Errorf("%s: %d statement texts for 5 companies, want 1", tc.lookUp, texts)
			}
		}
	})
}
