package contact_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestAQuickSearchFindsWhatTheFullSearchFinds checks the palette's quick
// path against the one full search, under every scope of the cast: the
// same hits, at most a page, a count that says whether there are more.
func TestAQuickSearchFindsWhatTheFullSearchFinds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		for i, p := range []struct {
			by      dbtest.Member
			company *int64
			last    string
			pos     string
		}{
			{c.Alisa, &w.compA, "Кедров", "Коммерческий директор"},
			{c.Boris, &w.compA2, "Кузнецов", "Кладовщик"},
			{c.Vera, &w.compB, "Коваль", "Бухгалтер"},
			{c.Vera, &w.compB, "Ромашкин", "Кассир"},
			{c.Alisa, nil, "Карпов", "Курьер"},
			{c.Gleb, nil, "Кудрин", "Директор"},
		} {
			if _, err := w.store.Create(ctx, p.by.Scope, contact.Input{Company: p.company, LastName: p.last, FirstName: fmt.Sprint("Иван", i), Position: p.pos}); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range c.All() {
			for _, text := range []string{"к", "ке", "КЕДР", "ромаш", "ку ди", "директор к", "сибир", "иван", "василёк", "я"} {
				t.Run(fmt.Sprintf("%s «%s»", m.Username, text), func(t *testing.T) {
					full, _, err := w.store.List(ctx, m.Scope, contact.Filter{Search: text, Size: 500})
					if err != nil {
						t.Fatal(err)
					}
					quick, n, err := w.store.List(ctx, m.Scope, contact.Filter{Search: text, Quick: true, Size: 3})
					if err != nil {
						t.Fatal(err)
					}
					var want, got []int64
					for _, x := range full {
						want = append(want, x.ID)
					}
					for _, x := range quick {
						if !slices.Contains(want, x.ID) {
							t.Errorf("quick found %s, which the full search does not", x.FullName)
						}
						if slices.Contains(got, x.ID) {
							t.Errorf("%s listed twice", x.FullName)
						}
						if x.Match == nil {
							t.Errorf("%s has no match", x.FullName)
						}
						got = append(got, x.ID)
					}
					more := n > len(got)
					if len(got) != min(3, len(want)) || more != (len(want) > 3) {
						t.Errorf("quick %v (count %d), full %v", got, n, want)
					}
				})
			}
		}
	})
}
