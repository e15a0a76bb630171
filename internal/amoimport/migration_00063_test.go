package amoimport_test

import (
	"context"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestMigration00063KeepsAnImportsRowsWithItAndNoLonger: on PostgreSQL
// an import's staged rows, plans and ids and the search words of contacts
// and companies are written without a foreign key checked per row (on
// SQLite, the contacts' words, whose table the migration makes again); the
// migration goes down and up again over a run import (its contacts'
// search words rebuilt both ways), and deleting the import, a contact or
// a company still deletes its rows or words, on both databases, as the
// keys' ON DELETE CASCADE did.
func TestMigration00063KeepsAnImportsRowsWithItAndNoLonger(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		im := runSmallImport(t, db, cast)
		if db.Dialect == database.Postgres {
			if n := count(t, db, `SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f'
				AND conrelid IN ('import_rows'::regclass, 'import_row_plans'::regclass, 'import_row_ids'::regclass)`); n != 0 {
				t.Errorf("%d foreign keys checked per staged row, want none", n)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f'
				AND conrelid IN ('contact_terms'::regclass, 'company_terms'::regclass)`); n != 0 {
				t.Errorf("%d foreign keys checked per search word, want none", n)
			}
		}
		if db.Dialect == database.SQLite {
			if n := count(t, db, `SELECT COUNT(*) FROM pragma_foreign_key_list('contact_terms')`); n != 0 {
				t.Errorf("%d foreign keys checked per contact word, want none", n)
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
		for _, owner := range []struct{ table, words, key string }{
			{"contacts", "contact_terms", "contact_id"}, {"companies", "company_terms", "company_id"},
		} {
			var id int64
			if err := db.QueryRowContext(ctx, `SELECT MIN(`+owner.key+`) FROM `+owner.words).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `DELETE FROM `+owner.table+` WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM `+owner.words+` WHERE `+owner.key+` = $1`, id); n != 0 {
				t.Errorf("%d words of %s %d outlive it", n, owner.table, id)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM `+owner.words); n == 0 {
				t.Errorf("deleting one of %s deleted every word", owner.table)
			}
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
