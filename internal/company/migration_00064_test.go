package company_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestMigration00064KeepsCompanyWordsInTwoIndexes: on PostgreSQL a
// company's search word is kept in two indexes, the primary key by owner
// (company_id, term) and the search index; the migration goes down and up
// again over companies' words, which stay the same rows, one per company
// and word (a repeat is refused by the new key too), and deleting a
// company still deletes its words. SQLite's migration changes nothing.
func TestMigration00064KeepsCompanyWordsInTwoIndexes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		var list []company.NewCompany
		for i := range 80 { // past database.BulkMin: the bulk path
			c := company.NewCompany{Name: fmt.Sprintf("ООО «Яхонт %02d Арбат»", i), LegalName: "Яхонт", ResponsibleID: cast.Alisa.ID, BranchID: cast.BranchA}
			_ = c.Normalize()
			list = append(list, c)
		}
		var ids []int64
		err := db.InBulkTx(ctx, func(tx *sql.Tx) error {
			var err error
			ids, err = company.NewStore(db).InsertBatch(ctx, tx, list)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		words := func() []string {
			list, err := database.Column[string](ctx, db, `SELECT company_id || ' ' || term FROM company_terms ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			return list
		}
		before := words()
		if len(before) < len(list) {
			t.Fatalf("%d company words for %d companies", len(before), len(list))
		}
		if db.Dialect == database.Postgres {
			indexes, err := database.Column[string](ctx, db, `SELECT indexdef FROM pg_indexes WHERE tablename = 'company_terms' ORDER BY indexname`)
			if err != nil {
				t.Fatal(err)
			}
			if len(indexes) != 2 || !slices.ContainsFunc(indexes, func(d string) bool {
				return d == "CREATE UNIQUE INDEX company_terms_pkey ON public.company_terms USING btree (company_id, term)"
			}) {
				t.Errorf("company_terms indexes: %q, want the primary key (company_id, term) and the search index", indexes)
			}
		}
		p, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 63); err != nil {
			t.Fatal(err)
		}
		if got := words(); !slices.Equal(got, before) {
			t.Errorf("after going down: %d words, want the same %d", len(got), len(before))
		}
		if _, err := p.UpTo(ctx, 64); err != nil {
			t.Fatal(err)
		}
		if got := words(); !slices.Equal(got, before) {
			t.Errorf("after going down and up: %d words, want the same %d", len(got), len(before))
		}
		var term string
		if err := db.QueryRowContext(ctx, `SELECT term FROM company_terms WHERE company_id = $1 ORDER BY term LIMIT 1`, ids[0]).Scan(&term); err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, `INSERT INTO company_terms (term, company_id, name_norm, live) VALUES ($1, $2, '', TRUE)`, term, ids[0])
		if !database.IsUniqueViolation(err) {
			t.Errorf("a company's word written twice: %v, want a unique violation", err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM companies WHERE id = $1`, ids[0]); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM company_terms WHERE company_id = $1`, ids[0]).Scan(&left); err != nil || left != 0 {
			t.Errorf("%d words of a deleted company outlive it (%v)", left, err)
		}
	})
}
