package amoimport_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestMigration00053GoesDownAndUpKeepingTheReport: an import run (and its
// report written through import_row_plans) keeps every row of its report
// when the migration goes down (the plans are copied back into
// import_rows) and up again (the report reads them from import_rows).
func TestMigration00053GoesDownAndUpKeepingTheReport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		im := runSmallImport(t, db, cast)
		st := amoimport.NewStore(db)
		report := func() (amoimport.RowList, map[string]int) {
			t.Helper()
			list, err := st.Rows(ctx, im.ID, amoimport.RowFilter{Size: 1000})
			if err != nil {
				t.Fatal(err)
			}
			counts, err := st.ActionCounts(ctx, im.ID)
			if err != nil {
				t.Fatal(err)
			}
			return list, counts
		}
		before, beforeCounts := report()
		if n := count(t, db, `SELECT COUNT(*) FROM import_row_plans WHERE import_id = $1`, im.ID); n == 0 {
			t.Fatal("the run wrote no plans into import_row_plans")
		}
		p, err := db.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 52); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM import_rows WHERE import_id = $1 AND action = ''`, im.ID); n != 0 {
			t.Errorf("%d rows of import_rows without their action after going down", n)
		}
		if _, err := p.UpTo(ctx, 53); err != nil {
			t.Fatal(err)
		}
		after, afterCounts := report()
		if !reflect.DeepEqual(after, before) {
			t.Errorf("the report after going down and up differs:\n%+v\nbefore:\n%+v", after, before)
		}
		if !reflect.DeepEqual(afterCounts, beforeCounts) {
			t.Errorf("counts after going down and up %v, before %v", afterCounts, beforeCounts)
		}
	})
}
