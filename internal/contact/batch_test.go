package contact_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestInsertBatchIsSearchableLikeCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		company := insertCompany(t, db, "ООО «Ромашка»", cast.BranchA, cast.Alisa.ID)
		s := contact.NewStore(db)
		ctx := context.Background()
		// More rows than one statement holds, to cross a chunk border.
		list := make([]contact.NewContact, 3000)
		for i := range list {
			list[i] = contact.NewContact{CompanyID: company, LastName: fmt.Sprintf("Фамилия%04d", i), FirstName: "Пётр",
				Position: "Инженер", CreatedBy: cast.Alisa.ID,
				Phones: []contact.Phone{{Value: fmt.Sprintf("8 (916) 100-%02d-%02d", i/100, i%100), Kind: "mobile"}},
				Emails: []contact.Email{{Value: fmt.Sprintf("p%d@Romashka.ru", i)}}}
		}
		list = append(list, contact.NewContact{LastName: "Одиночкин", CreatedBy: cast.Vera.ID})
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return s.InsertBatch(ctx, tx, list) }); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			query string
			want  string
		}{
			{"+7 916 100-29-99", "Фамилия2999 Пётр"},
			{"p17@romashka.ru", "Фамилия0017 Пётр"},
			{"фамилия0042 петр", "Фамилия0042 Пётр"},
		} {
			got, n, err := s.List(ctx, cast.Alisa.Scope, contact.Filter{Search: tc.query})
			if err != nil || n != 1 || got[0].FullName != tc.want || len(got[0].Phones) != 1 || got[0].Phones[0].E164 == "" {
				t.Fatalf("%q: %d %+v %v", tc.query, n, got, err)
			}
		}
		if _, n, _ := s.List(ctx, cast.Vera.Scope, contact.Filter{Search: "одиночкин"}); n != 1 {
			t.Fatalf("the companyless loaded contact is not its creator's: %d", n)
		}
	})
}
