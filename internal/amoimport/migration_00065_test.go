package amoimport_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestMigration00065KeepsCompanyWordsInTwoBTrees: on SQLite a company's
// search words are the table's own key (term, live, name_norm,
// company_id, branch_id, responsible_id), WITHOUT ROWID, with one more
// B-tree, the owner's unique (company_id, term), and no foreign key. The
// migration goes down and up again over a run import with the words and
// the columns they carry kept; a word twice for one company is refused,
// renaming or deleting a company still moves or deletes its words. On
// PostgreSQL the migration changes nothing, and the same checks hold.
func TestMigration00065KeepsCompanyWordsInTwoBTrees(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		runSmallImport(t, db, cast)
		if db.Dialect == database.SQLite {
			var sqlText string
			if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'company_terms'`).Scan(&sqlText); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(sqlText, "WITHOUT ROWID") ||
				!strings.Contains(sqlText, "PRIMARY KEY (term, live, name_norm, company_id, branch_id, responsible_id)") {
				t.Fatalf("company_terms is not keyed by the search key:\n%s", sqlText)
			}
			names, err := database.Column[string](ctx, db, `SELECT name FROM pragma_index_list('company_terms')`)
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != 2 {
				t.Errorf("company_terms has indexes %v, want its key and the owner's", names)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM pragma_foreign_key_list('company_terms')`); n != 0 {
				t.Errorf("%d foreign keys checked per company word, want none", n)
			}
		}
		words := count(t, db, `SELECT COUNT(*) FROM company_terms`)
		if words == 0 {
			t.Fatal("the import wrote no company search words")
		}
		p, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 64); err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 65); err != nil {
			t.Fatal(err)
		}
		carried := `SELECT COUNT(*) FROM company_terms t JOIN companies c ON c.id = t.company_id
			WHERE t.name_norm = c.name_norm AND t.live = (c.deleted_at IS NULL)
				AND t.branch_id = COALESCE(c.branch_id, 0) AND t.responsible_id = COALESCE(c.responsible_id, 0)`
		if n := count(t, db, carried); n != words {
			t.Errorf("%d of %d company search words carry their company's name, liveness and scope after going down and up", n, words)
		}

		var id int64
		if err := db.QueryRowContext(ctx, `SELECT MIN(company_id) FROM company_terms`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO company_terms (term, company_id, name_norm, live)
				SELECT term, company_id, 'другое', FALSE FROM company_terms WHERE company_id = $1 LIMIT 1`, id)
			return err
		})
		if !database.IsUniqueViolation(err) {
			t.Fatalf("a word twice for one company: %v, want a unique violation", err)
		}
		// The trigger that follows a company's changes moves its words,
		// which on SQLite are rows of the key.
		if _, err := db.ExecContext(ctx, `UPDATE companies SET name_norm = 'переименована', responsible_id = $1 WHERE id = $2`,
			cast.Vera.ID, id); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM company_terms WHERE company_id = $1 AND (name_norm <> 'переименована' OR responsible_id <> $2)`,
			id, cast.Vera.ID); n != 0 {
			t.Errorf("%d words of company %d did not follow its new name and responsible", n, id)
		}
		if n := count(t, db, carried); n != words {
			t.Errorf("%d of %d company search words carry their company's columns after a change", n, words)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM companies WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM company_terms WHERE company_id = $1`, id); n != 0 {
			t.Errorf("%d words of company %d outlive it", n, id)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM company_terms`); n == 0 {
			t.Error("deleting one company deleted every word")
		}
	})
}
