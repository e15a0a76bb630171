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

// A contact is found by the last seven digits of a phone, as typed by
// people who remember «123-45-67», whether it was written by Create,
// Update or the bulk loader, and only by those who may see it.
func TestContactSearchByTheLastSevenDigitsOfAPhone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		gleb := w.cast.Gleb.Scope
		created, err := w.store.Create(ctx, gleb, contact.Input{Company: &w.compB, LastName: "Кузнецов", FirstName: "Олег",
			Phones: []contact.Phone{{Value: "+7 (383) 222-33-44", Kind: "mobile"}}})
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			return w.store.InsertBatch(ctx, tx, []contact.NewContact{{CompanyID: w.compB, LastName: "Мельникова", FirstName: "Ольга",
				Phones: []contact.Phone{{Value: "8 913 555-66-77"}}, CreatedBy: w.cast.Vera.ID}})
		})
		if err != nil {
			t.Fatal(err)
		}
		search := func(sc dbtest.Member, q string) []string {
			t.Helper()
			list, n, err := w.store.List(ctx, sc.Scope, contact.Filter{Search: q})
			if err != nil || n != len(list) {
				t.Fatalf("%q: %d rows, count %d, %v", q, len(list), n, err)
			}
			var names []string
			for _, c := range list {
				names = append(names, c.LastName)
			}
			return names
		}
		cases := []struct {
			who   dbtest.Member
			query string
			want  string
		}{
			{w.cast.Gleb, "222-33-44", "[Кузнецов]"},
			{w.cast.Gleb, "2223344", "[Кузнецов]"},
			{w.cast.Gleb, "555 66 77", "[Мельникова]"},
			{w.cast.Gleb, "222-33-45", "[]"},
			{w.cast.Alisa, "222-33-44", "[]"},
		}
		for _, tc := range cases {
			if got := search(tc.who, tc.query); fmt.Sprint(got) != tc.want {
				t.Errorf("%s «%s»: %v, want %s", tc.who.Username, tc.query, got, tc.want)
			}
		}
		if _, err := w.store.Update(ctx, w.cast.Admin.Scope, created.ID, contact.Input{Company: &w.compB, LastName: "Кузнецов", FirstName: "Олег",
			Phones: []contact.Phone{{Value: "+7 (383) 999-88-77"}}}); err != nil {
			t.Fatal(err)
		}
		if got := search(w.cast.Gleb, "222-33-44"); len(got) != 0 {
			t.Errorf("the old number still finds %v", got)
		}
		if got := search(w.cast.Gleb, "999-88-77"); fmt.Sprint(got) != "[Кузнецов]" {
			t.Errorf("the new number finds %v", got)
		}
	})
}
