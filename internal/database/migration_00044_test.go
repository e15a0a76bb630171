package database_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/duplicate"
)

// TestMigrations00044And00045GoDownAndUp: going down to 00043 gives back
// company_trigrams, filled from the names the store wrote, and its
// trigger; coming up again keeps the names and their trigrams.
func TestMigrations00044And00045GoDownAndUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		store := company.NewStore(db)
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := store.InsertBatch(ctx, tx, []company.NewCompany{
				{Name: "ООО «Ромашка»", ResponsibleID: cast.Alisa.ID}, {Name: "Ромашка", ResponsibleID: cast.Vera.ID},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		count := func(q string) int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		grams := len(duplicate.Trigrams("ромашка"))
		if n := count(`SELECT COUNT(*) FROM name_trigrams`); n != grams {
			t.Fatalf("name_trigrams: %d rows, want %d", n, grams)
		}
		p, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 43); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM company_trigrams`); n != 2*grams {
			t.Fatalf("company_trigrams after going down: %d rows, want %d", n, 2*grams)
		}
		if _, err := p.UpTo(ctx, 45); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM name_trigrams t JOIN company_names n ON n.id = t.name_id WHERE n.name_norm = 'ромашка'`); n != grams {
			t.Fatalf("name_trigrams after coming up: %d rows, want %d", n, grams)
		}
	})
}
