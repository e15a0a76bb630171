package company_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestAQuickSearchFindsWhatTheFullSearchFinds checks the palette's quick
// path against the one full search: the same hits under every scope of
// the cast, at most a page of them, and More when it stopped early.
func TestAQuickSearchFindsWhatTheFullSearchFinds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		c := f.cast
		owners := []struct{ resp, branch int64 }{
			{c.Alisa.ID, c.BranchA}, {c.Boris.ID, c.BranchA}, {c.Vera.ID, c.BranchB}, {c.Gleb.ID, c.BranchB}, {c.Vera.ID, c.BranchA},
		}
		var list []company.NewCompany
		for i, name := range []string{"Кедр", "Кедровый бор", "Кристалл", "Кристалл Кедр", "Кирпич Кирпичный завод",
			"Лес и кедр", "Ромашка", "ООО «Кедр-Плюс»", "Карат", "Кварц"} {
			o := owners[i%len(owners)]
			list = append(list, company.NewCompany{Name: name, LegalName: "ООО «" + name + "»", ResponsibleID: o.resp, BranchID: o.branch})
		}
		f.insert(t, list...)
		ctx := context.Background()
		for _, m := range c.All() {
			for _, text := range []string{"к", "кед", "КЕДР", "кр ке", "кирп", "бор кед", "ромашка", "я", "кедр лес"} {
				t.Run(fmt.Sprintf("%s «%s»", m.Username, text), func(t *testing.T) {
					full, err := f.store.Search(ctx, m.Scope, company.Query{Text: text})
					if err != nil {
						t.Fatal(err)
					}
					quick, err := f.store.Search(ctx, m.Scope, company.Query{Text: text, Quick: true, PageSize: 3})
					if err != nil {
						t.Fatal(err)
					}
					var want, got []int64
					for _, x := range full.Companies {
						want = append(want, x.ID)
					}
					for _, x := range quick.Companies {
						got = append(got, x.ID)
						if !slices.Contains(want, x.ID) {
							t.Errorf("quick found %q, which the full search does not", x.Name)
						}
						if x.Match == nil || x.Match.Field == "" {
							t.Errorf("%q has no match", x.Name)
						}
					}
					if len(got) != min(3, len(want)) || quick.More != (len(want) > 3) || quick.Count != len(got) {
						t.Errorf("quick %v (more %v, count %d), full %v", got, quick.More, quick.Count, want)
					}
					seen := map[int64]bool{}
					for _, id := range got {
						if seen[id] {
							t.Errorf("%d listed twice", id)
						}
						seen[id] = true
					}
				})
			}
		}
	})
}
