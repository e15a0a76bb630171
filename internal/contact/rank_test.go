package contact_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestContactSearchPutsExactNamesFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		ivanovCo := insertCompany(t, db, "Иванов и партнёры", c.BranchA, c.Alisa.ID)
		mk := func(company *int64, last, first string) int64 {
			t.Helper()
			got, err := w.store.Create(ctx, c.Admin.Scope, contact.Input{Company: company, LastName: last, FirstName: first})
			if err != nil {
				t.Fatal(err)
			}
			return got.ID
		}
		// Sorted by name, the contacts of the company «Иванов и партнёры»
		// and the longer surnames would come before Иванов himself.
		abramov := mk(&ivanovCo, "Абрамов", "Пётр")
		ivanova := mk(&w.compA, "Иванова", "Анна")
		ivanov := mk(&w.compB, "Иванов", "Сергей")
		ivanovA := mk(&w.compA2, "Иванов", "Олег")
		tests := []struct {
			name     string
			who      dbtest.Member
			search   string
			ordering string
			want     []int64
		}{
			{"the exact surname comes first for one who sees all", c.Admin, "иванов", "", []int64{ivanovA, ivanov, abramov, ivanova}},
			{"… and for one who sees a branch", c.Boris, "Иванов", "", []int64{ivanovA, abramov, ivanova}},
			{"… and in reverse order", c.Admin, "иванов", "-last_name", []int64{ivanov, ivanovA, ivanova, abramov}},
			{"… and in reverse order for one who sees a branch", c.Boris, "иванов", "-last_name", []int64{ivanovA, ivanova, abramov}},
			{"the exact surname and name come first", c.Admin, "иванов олег", "", []int64{ivanovA}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				list, _, err := w.store.List(ctx, tt.who.Scope, contact.Filter{Search: tt.search, Ordering: tt.ordering})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, x := range list {
					got = append(got, x.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("found %v, want %v", got, tt.want)
				}
			})
		}
	})
}
