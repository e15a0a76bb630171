package company

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestInsertBatchWritesDerivedRowsInKeyOrder: a batch's search words
// (company_terms) and name trigrams reach their tables in key order,
// whatever the order of the companies — B-tree inserts in key order are
// what keeps a big import's derived rows cheap. The tables' physical order
// shows it on PostgreSQL: ctid, where COPY appends in the order given.
// On SQLite both tables are WITHOUT ROWID (name_trigrams since 00044,
// company_terms since 00065), kept in key order by the tables themselves:
// there the test only writes the batch.
func TestInsertBatchWritesDerivedRowsInKeyOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		s := NewStore(db)
		ctx := context.Background()
		var list []NewCompany
		for i := range 80 { // past database.BulkMin and the COPY minimum: the bulk path
			c := NewCompany{Name: fmt.Sprintf("ООО «Яхонт %02d Арбат»", 80-i), ResponsibleID: cast.Alisa.ID, BranchID: cast.BranchA}
			_ = c.Normalize()
			list = append(list, c)
		}
		insertBatch(t, db, s, list)
		if db.Dialect == database.SQLite {
			return
		}
		for _, c := range []struct{ table, key string }{
			{"company_terms", "term, live, name_norm, company_id"},
			{"name_trigrams", "trigram, ntri, name_id"},
		} {
			var out, sorted int
			err := db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN pos = kpos THEN 1 ELSE 0 END), 0) FROM (
				SELECT ROW_NUMBER() OVER (ORDER BY ctid) AS pos, ROW_NUMBER() OVER (ORDER BY `+c.key+`) AS kpos FROM `+c.table+`) x`).Scan(&out, &sorted)
			if err != nil {
				t.Fatal(err)
			}
			if out < len(list) || sorted != out {
				t.Errorf("%s: %d of %d rows where their key puts them", c.table, sorted, out)
			}
		}
	})
}

// insertBatch writes list through the bulk path in a transaction of its own.
func insertBatch(t *testing.T, db *database.DB, s *Store, list []NewCompany) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		_, err := s.InsertBatch(context.Background(), tx, list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
