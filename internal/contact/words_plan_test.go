package contact_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestContactWordsAreKeptInTwoIndexes: a contact's search word is written
// to two B-trees, the search key (term, live, name_norm, contact_id) and
// the owner's (contact_id, term), on both databases (migration 00063; it
// was three on PostgreSQL and four on SQLite). A word twice for one
// contact is refused, as the old primary key refused it.
func TestContactWordsAreKeptInTwoIndexes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		q := `SELECT name FROM pragma_index_list('contact_terms')`
		if db.Dialect == database.Postgres {
			q = `SELECT indexname FROM pg_indexes WHERE tablename = 'contact_terms'`
		}
		names, err := database.Column[string](ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != 2 {
			t.Fatalf("contact_terms has indexes %v, want the search key and the owner's", names)
		}
		if db.Dialect == database.SQLite {
			var sqlText string
			if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'contact_terms'`).Scan(&sqlText); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(sqlText, "WITHOUT ROWID") || !strings.Contains(sqlText, "PRIMARY KEY (term, live, name_norm, contact_id)") {
				t.Fatalf("contact_terms is not keyed by the search key:\n%s", sqlText)
			}
		}
		s := contact.NewStore(db)
		c, err := s.Create(ctx, cast.Alisa.Scope, contact.Input{LastName: "Кедров", FirstName: "Иван"})
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO contact_terms (term, contact_id, name_norm, live) VALUES ('кедров', $1, 'другое', TRUE)`, c.ID)
			return err
		})
		if !database.IsUniqueViolation(err) {
			t.Fatalf("a word twice for one contact: %v, want a unique violation", err)
		}
	})
}

// TestContactWordSearchPlans: on SQLite, whose plans are stable without
// statistics, the searches by a word read the table's own key (no other
// index and no sort for the quick search's order), and the other words of
// a quick search and a contact's words by owner come from the owner's
// index. The statements are those of listByWord, quickList and the
// store's rewrite of a contact's words.
func TestContactWordSearchPlans(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.SQLite {
			t.Skip("SQLite's plans; PostgreSQL's depend on its statistics")
		}
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := contact.NewStore(db)
		for i := range 50 {
			if _, err := s.Create(ctx, cast.Alisa.Scope, contact.Input{LastName: fmt.Sprint("Кедров", i), FirstName: "Иван",
				Position: "Директор"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		end := database.PrefixEnd("ке")
		for _, c := range []struct {
			name  string
			query string
			args  []any
			want  []string
		}{
			{"the search by one word", `SELECT contact_id AS id, name_norm FROM contact_terms WHERE term >= $1 AND term < $2 AND live`,
				[]any{"ке", end}, []string{"SEARCH contact_terms USING PRIMARY KEY (term>? AND term<?)"}},
			{"the quick search in the key's order", `SELECT t.contact_id FROM contact_terms t WHERE t.term >= $1 AND t.term < $2 AND t.live
				AND EXISTS (SELECT 1 FROM contact_terms o WHERE o.contact_id = t.contact_id AND o.term >= $3 AND o.term < $4)
				ORDER BY t.term, t.live, t.name_norm, t.contact_id LIMIT 10`,
				[]any{"ке", end, "ди", database.PrefixEnd("ди")},
				[]string{"SEARCH t USING PRIMARY KEY (term>? AND term<?)", "SEARCH o EXISTS USING COVERING INDEX contact_terms_contact_term_idx (contact_id=? AND term>? AND term<?)"}},
			{"a contact's words", `DELETE FROM contact_terms WHERE contact_id = $1`, []any{int64(1)},
				[]string{"SEARCH contact_terms USING COVERING INDEX contact_terms_contact_term_idx (contact_id=?)"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				plan := dbtest.SQLitePlan(t, db, c.query, c.args...)
				for _, w := range c.want {
					if !slices.Contains(plan, w) {
						t.Errorf("plan %q lacks %q", plan, w)
					}
				}
				for _, p := range plan {
					if strings.Contains(p, "TEMP B-TREE") || strings.HasPrefix(p, "SCAN") {
						t.Errorf("plan %q sorts or scans: %q", plan, p)
					}
				}
			})
		}
	})
}
