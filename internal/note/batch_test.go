package note_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/note"
)

func TestInsertBatchKeepsAuthorsAndTimes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		company := insertCompany(t, db, "Ромашка", cast.BranchA, cast.Alisa.ID)
		s := note.NewStore(db)
		ctx := context.Background()
		old := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
		list := make([]note.NewNote, 6000)
		for i := range list {
			list[i] = note.NewNote{CompanyID: company, AuthorID: cast.Boris.ID, Type: "call_in", Text: "Звонок", CreatedAt: old}
		}
		list[0] = note.NewNote{CompanyID: company, AuthorID: cast.Alisa.ID, Text: "Самая новая"}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return s.InsertBatch(ctx, tx, list) }); err != nil {
			t.Fatal(err)
		}
		got, n, err := s.List(ctx, cast.Alisa.Scope, note.Filter{CompanyID: company, Size: 2})
		if err != nil || n != len(list) || got[0].Text != "Самая новая" || got[0].Type != "note" ||
			got[1].AuthorName != "Борис Бородин" || !got[1].CreatedAt.Equal(old) {
			t.Fatalf("%d %+v %v", n, got, err)
		}
		bad := []note.NewNote{{CompanyID: company, Type: "fax", Text: "x"}}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return s.InsertBatch(ctx, tx, bad) }); err == nil {
			t.Fatal("an unknown type was loaded")
		}
	})
}
