package amoimport_test

import (
	"context"
	"testing"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestMigration00063KeepsAnImportsRowsWithItAndNoLonger: on PostgreSQL
// an import's staged rows, plans and ids are written without a foreign
// key checked per row; the migration goes down and up again over a run
// import (its contacts' search words rebuilt both ways, still found), and
// deleting the import still deletes its rows, plans and ids, on both
// databases, as the keys' ON DELETE CASCADE did.
func TestMigration00063KeepsAnImportsRowsWithItAndNoLonger(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		data, tr := loadRunTruth(t, "amo_small.csv")
		addUsers(t, db, tr)
		im := create(t, db, amoimport.New{FileName: "amo_small.csv", CreatedBy: cast.Admin.ID}, data)
		if _, err := amoimport.Run(ctx, db, im.ID, amoimport.RunOptions{Actor: cast.Admin.Scope}); err != nil {
			t.Fatal(err)
		}
		if db.Dialect == database.Postgres {
			if n := count(t, db, `SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f'
				AND conrelid IN ('import_rows'::regclass, 'import_row_plans'::regclass, 'import_row_ids'::regclass)`); n != 0 {
				t.Errorf("%d foreign keys checked per staged row, want none", n)
			}
		}
		words := count(t, db, `SELECT COUNT(*) FROM contact_terms`)
		if words == 0 {
			t.Fatal("the import wrote no contact search words")
		}
		p, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 62); err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 63); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM contact_terms`); n != words {
			t.Errorf("%d contact search words after going down and up, want %d", n, words)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM contact_terms t JOIN contacts c ON c.id = t.contact_id
			WHERE t.name_norm = c.name_norm AND t.live = (c.deleted_at IS NULL)`); n != words {
			t.Errorf("%d of %d search words carry their contact's name and liveness", n, words)
		}
		for _, table := range []string{"import_rows", "import_row_plans", "import_row_ids"} {
			if n := count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE import_id = $1`, im.ID); n == 0 {
				t.Fatalf("the run wrote nothing into %s", table)
			}
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM imports WHERE id = $1`, im.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"import_rows", "import_row_plans", "import_row_ids"} {
			if n := count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE import_id = $1`, im.ID); n != 0 {
				t.Errorf("%d rows of %s outlive their import", n, table)
			}
		}
	})
}
