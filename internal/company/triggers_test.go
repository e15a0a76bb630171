package company_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestAnEditLeavesTalliesAndTermsAlone checks that editing a field the
// tallies and the name index do not follow writes neither: such writes
// held the tally row's lock to commit and made concurrent edits queue.
func TestAnEditLeavesTalliesAndTermsAlone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		// A log of every write to the two tables the triggers maintain.
		stmts := []string{`CREATE TABLE trigger_writes (tbl TEXT NOT NULL)`}
		for _, tbl := range []string{"company_tallies", "company_terms"} {
			if db.Dialect == database.Postgres {
				stmts = append(stmts,
					`CREATE FUNCTION log_`+tbl+`() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO trigger_writes VALUES ('`+tbl+`'); RETURN NULL; END $$`,
					`CREATE TRIGGER log_`+tbl+` AFTER INSERT OR UPDATE OR DELETE ON `+tbl+` FOR EACH ROW EXECUTE FUNCTION log_`+tbl+`()`)
				continue
			}
			for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
				stmts = append(stmts, `CREATE TRIGGER log_`+tbl+`_`+op+` AFTER `+op+` ON `+tbl+` BEGIN INSERT INTO trigger_writes VALUES ('`+tbl+`'); END`)
			}
		}
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		writes := func() int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM trigger_writes`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		admin := access.Scope{UserID: f.cast.Admin.ID, Role: access.RoleAdmin, Data: access.Global}
		if _, err := f.store.Update(ctx, admin, f.A1, input(t, `{"address": "г. Москва, ул. Тверская, д. 1", "website": "alfa.ru"}`), false); err != nil {
			t.Fatal(err)
		}
		if n := writes(); n != 0 {
			t.Fatalf("an edit of the address wrote %d rows of tallies and name terms, want 0", n)
		}
		if _, err := f.store.Update(ctx, admin, f.A1, input(t, fmt.Sprintf(`{"status": %d}`, f.statuses[1])), false); err != nil {
			t.Fatal(err)
		}
		if n := writes(); n == 0 {
			t.Fatal("a change of status left the tallies as they were")
		}
	})
}
