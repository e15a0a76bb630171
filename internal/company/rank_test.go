package company_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestSearchPutsExactMatchesFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		c := f.cast
		ids := f.insert(t,
			company.NewCompany{Name: "Агро Ромашка", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA},
			company.NewCompany{Name: "ООО «Ромашка»", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA},
			company.NewCompany{Name: "Ромашка Плюс", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA},
			company.NewCompany{Name: "Альфа Ромашка Плюс", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA},
			company.NewCompany{Name: "Склад 7707083893", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA},
			company.NewCompany{Name: "Ёлка", INN: "7707083893", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA,
				Phones: []company.Phone{{Value: "+7 (495) 123-45-67", Kind: "work"}}},
			company.NewCompany{Name: "Телефон 74951234567", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA},
		)
		agro, romashka, plus, alfa, sklad, elka := ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]
		tests := []struct {
			name     string
			who      dbtest.Member
			text     string
			ordering string
			want     []int64
		}{
			{"the company named exactly by one word comes first", c.Admin, "ромашка", "", []int64{romashka, agro, alfa, plus}},
			{"… also in a narrow scope", c.Alisa, "РОМАШКА", "", []int64{romashka, agro, alfa, plus}},
			{"… also in reverse name order", c.Admin, "ромашка", "-name", []int64{romashka, plus, alfa, agro}},
			{"the company named exactly by two words comes first", c.Admin, "ромашка плюс", "", []int64{plus, alfa}},
			{"the exact ИНН comes before a name holding it", c.Admin, "7707083893", "", []int64{elka, sklad}},
			{"the exact phone comes first", c.Admin, "+7 495 123-45-67", "", []int64{elka}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, err := f.store.Search(context.Background(), tt.who.Scope, company.Query{Text: tt.text, Ordering: tt.ordering})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, co := range res.Companies {
					got = append(got, co.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("found %v, want %v", got, tt.want)
				}
			})
		}
	})
}
