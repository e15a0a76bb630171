package company_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// People remember a number by its last seven digits: «123-45-67». Typed
// so, with or without dashes and spaces, it finds the company through the
// one search, says why, respects the scope, and does not disturb the
// searches by a whole number or an ИНН.
func TestSearchByTheLastSevenDigitsOfAPhone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		c := f.cast
		ids := f.insert(t,
			company.NewCompany{Name: "Кедр", INN: "7707083893", ResponsibleID: c.Alisa.ID, BranchID: c.BranchA,
				Phones: []company.Phone{{Value: "+7 (495) 765-43-21", Kind: "work"}}},
			company.NewCompany{Name: "Сосна", ResponsibleID: c.Vera.ID, BranchID: c.BranchB,
				Phones: []company.Phone{{Value: "8 (383) 765-43-21", Kind: "work"}, {Value: "+49 30 1234567", Kind: "other"}}},
			company.NewCompany{Name: "Склад 7654321", ResponsibleID: c.Vera.ID, BranchID: c.BranchB},
		)
		kedr, sosna := ids[0], ids[1]
		tests := []struct {
			name string
			who  dbtest.Member
			text string
			want []int64
		}{
			{"seven digits with dashes find every number ending so", c.Admin, "765-43-21", []int64{kedr, sosna}},
			{"seven digits without separators", c.Admin, "7654321", []int64{kedr, sosna}},
			{"seven digits with spaces", c.Admin, " 765 43 21 ", []int64{kedr, sosna}},
			{"a foreign number by its last seven digits", c.Admin, "123-45-67", []int64{sosna}},
			{"the scope applies", c.Alisa, "765-43-21", []int64{kedr}},
			{"other seven digits find nothing", c.Admin, "765-43-20", nil},
			{"six digits are not a phone", c.Admin, "65-43-21", nil},
			{"the whole number still finds only its own company", c.Admin, "8 495 765-43-21", []int64{kedr}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, err := f.store.Search(context.Background(), tt.who.Scope, company.Query{Text: tt.text})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, co := range res.Companies {
					got = append(got, co.ID)
					if co.Match == nil || co.Match.Field != company.MatchPhone || co.Match.Label != "Найдено: телефон" {
						t.Errorf("%s: match %+v, want «Найдено: телефон»", co.Name, co.Match)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) || res.Count != len(tt.want) {
					t.Fatalf("found %v (count %d), want %v", got, res.Count, tt.want)
				}
			})
		}
		t.Run("an ИНН is still an ИНН", func(t *testing.T) {
			res, err := f.store.Search(context.Background(), c.Admin.Scope, company.Query{Text: "7707083893"})
			if err != nil || res.Count != 1 || res.Companies[0].ID != kedr || res.Companies[0].Match.Field != company.MatchINN {
				t.Fatalf("%+v, %v", res, err)
			}
		})
	})
}

// The suffix is written with the phones by Create and Update.
func TestThePhoneSuffixFollowsCreateAndUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		admin := f.cast.Admin.Scope
		phones := func(v ...string) company.OptPhones {
			o := company.OptPhones{Set: true}
			for _, s := range v {
				o.Value = append(o.Value, company.Phone{Value: s, Kind: "work"})
			}
			return o
		}
		created, err := f.store.Create(ctx, admin, company.Input{Name: company.OptString{Set: true, Value: "Пихта"}, Phones: phones("+7 812 111-22-33")})
		if err != nil {
			t.Fatal(err)
		}
		found := func(text string) bool {
			t.Helper()
			res, err := f.store.Search(ctx, admin, company.Query{Text: text})
			if err != nil {
				t.Fatal(err)
			}
			return res.Count == 1 && res.Companies[0].ID == created.ID
		}
		if !found("111-22-33") {
			t.Fatal("a created company is not found by its last seven digits")
		}
		if _, err := f.store.Update(ctx, admin, created.ID, company.Input{Phones: phones("+7 812 444-55-66")}, false); err != nil {
			t.Fatal(err)
		}
		if found("111-22-33") || !found("444 55 66") {
			t.Fatal("the suffix did not follow the changed phone")
		}
	})
}
