package company_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestSearchKeysetWalksTheNumberedPages checks that keyset paging (the
// export's) yields exactly the rows of the numbered pages (the list's),
// in the same order, for plain lists, filters, every ordering and text
// searches, with ties in the sort key.
func TestSearchKeysetWalksTheNumberedPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		c := f.cast
		at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		var list []company.NewCompany
		for i := range 37 {
			n := company.NewCompany{
				// Repeated names and times: the id breaks the ties.
				Name:      fmt.Sprintf("Ромашка %d", i%5),
				INN:       []string{"7707083893", "", "500100732259"}[i%3],
				BranchID:  []int64{c.BranchA, c.BranchB}[i%2],
				StatusID:  f.statuses[i%2],
				Spheres:   []int64{f.spheres[i%2]},
				CreatedAt: at.Add(time.Duration(i%4) * time.Hour),
				Phones:    []company.Phone{{Value: fmt.Sprintf("+7 495 123-45-%02d", i%3), Kind: "work"}},
			}
			if i%7 == 0 {
				n.Name = "Ромашка"
			}
			list = append(list, n)
		}
		f.insert(t, list...)
		queries := map[string]company.Query{
			"everything by name":         {},
			"everything by -name":        {Ordering: "-name"},
			"by created_at":              {Ordering: "created_at"},
			"by -created_at":             {Ordering: "-created_at"},
			"by -updated_at":             {Ordering: "-updated_at"},
			"by inn":                     {Ordering: "inn"},
			"by -inn":                    {Ordering: "-inn"},
			"a branch and a status":      {Branch: c.BranchA, Status: f.statuses[0]},
			"a sphere by -name":          {Sphere: f.spheres[1], Ordering: "-name"},
			"an ИНН filter":              {INN: "7707083893"},
			"one name word":              {Text: "ромашка"},
			"one name word by -name":     {Text: "ромашка", Ordering: "-name"},
			"a name word by -created_at": {Text: "ромашка", Ordering: "-created_at"},
			"an ИНН search":              {Text: "7707083893"},
			"a phone search by inn":      {Text: "+7 495 123 45 01", Ordering: "-inn"},
			"the trash":                  {Deleted: true},
		}
		ctx := context.Background()
		for name, q := range queries {
			t.Run(name, func(t *testing.T) {
				var want []int64
				for page := 1; ; page++ {
					q := q
					q.Page, q.PageSize = page, 4
					res, err := f.store.Search(ctx, c.Admin.Scope, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, co := range res.Companies {
						want = append(want, co.ID)
					}
					if len(res.Companies) < 4 {
						break
					}
				}
				if len(want) < 2 && !q.Deleted {
					t.Fatalf("the fixture should give this query several rows, got %v", want)
				}
				var got []int64
				q.Keyset, q.PageSize = true, 3
				for {
					res, err := f.store.Search(ctx, c.Admin.Scope, q)
					if err != nil {
						t.Fatal(err)
					}
					if q.After == 0 && res.Count != len(want) {
						t.Errorf("the first keyset page counts %d, want %d", res.Count, len(want))
					}
					for _, co := range res.Companies {
						got = append(got, co.ID)
					}
					if len(res.Companies) < 3 {
						break
					}
					q.After = res.Companies[len(res.Companies)-1].ID
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("keyset pages %v\nnumbered pages %v", got, want)
				}
			})
		}
	})
}
