package duplicate_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/duplicate"
)

// TestFindInTwoStatementsAnswersAsStepwise holds Find, which folds the
// duplicate check into two statements (issue 6), to the answers of the
// step-by-step search it replaced, over every signal, every kind of
// scope, deleted companies, a name shared by more companies than a signal
// brings, and more similar names than the first batch whose companies are
// too few (Find then reads the next names as before).
func TestFindInTwoStatementsAnswersAsStepwise(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		owners := []int64{cast.Alisa.ID, cast.Boris.ID, cast.Vera.ID, cast.Gleb.ID}
		var list []company.NewCompany
		for i := range 40 { // 40 similar names, one company each
			list = append(list, company.NewCompany{Name: fmt.Sprintf("Ромашка %d", i+1), ResponsibleID: owners[i%len(owners)],
				Address: fmt.Sprintf("г. Москва, ул. Ленина, д. %d", i%5+1), Phones: phones(fmt.Sprintf("+7 495 123-45-%02d", i%7))})
		}
		for i := range 60 { // one name, more companies than a signal brings
			list = append(list, company.NewCompany{Name: "Лютик", ResponsibleID: owners[i%len(owners)], Emails: emails(fmt.Sprintf("l%d@lutik.ru", i%3))})
		}
		list = append(list,
			company.NewCompany{Name: `ООО "Ромашка"`, INN: "7707083893", KPP: "770701001", OGRN: "1027700132195", Website: "https://www.romashka.ru/",
				Phones: phones("8 (495) 123-45-67"), Emails: emails("info@romashka.ru"), ResponsibleID: cast.Vera.ID},
			company.NewCompany{Name: "Ромашки", INN: "7707083893", KPP: "770702001", ResponsibleID: cast.Alisa.ID},
			company.NewCompany{Name: "Лютики", ResponsibleID: cast.Boris.ID},
		)
		ids := seed(t, db, list...)
		store := company.NewStore(db)
		for _, id := range []int64{ids[3], ids[45], ids[len(ids)-2]} {
			if err := store.Delete(ctx, cast.Admin.Scope, id); err != nil {
				t.Fatal(err)
			}
		}
		probes := []struct {
			name  string
			probe duplicate.Probe
		}{
			{"a name with many similar ones", duplicate.Probe{Name: "Ромашка"}},
			{"a misspelt similar name", duplicate.Probe{Name: "Ромашка 1З"}},
			{"a name shared by sixty companies", duplicate.Probe{Name: "Лютик"}},
			{"every exact signal", duplicate.Probe{Name: "Ромашка", INN: "7707083893", KPP: "770701001", OGRN: "1027700132195",
				Website: "romashka.ru", Phones: []string{"+7 495 123-45-67", "+7 495 123-45-03"}, Emails: []string{"L1@lutik.ru"}}},
			{"the address and the phone of the load test", duplicate.Probe{Exclude: ids[7], Name: "Ромашка 8", Address: "г. Москва, ул. Ленина, д. 3",
				Phones: []string{"+7 495 123-45-00"}}},
			{"no name", duplicate.Probe{INN: "7707083893"}},
			{"nothing alike", duplicate.Probe{Name: "Совсем другая компания"}},
		}
		eng := duplicate.New(db)
		for _, who := range cast.All() {
			for _, p := range probes {
				t.Run(who.Username+" "+p.name, func(t *testing.T) {
					want, err := eng.FindStepwise(ctx, who.Scope, p.probe, 20)
					if err != nil {
						t.Fatal(err)
					}
					got, err := eng.Find(ctx, who.Scope, p.probe, 20)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("Find:\n%+v\nstep by step:\n%+v", got, want)
					}
				})
			}
		}
		t.Run("a check sends two statements", func(t *testing.T) {
			before := db.Statements()
			got, err := eng.Find(ctx, cast.Alisa.Scope, duplicate.Probe{Name: "Лютик", INN: "7707083893", Phones: []string{"+7 495 123-45-01"}}, 20)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Fatal("no matches")
			}
			if n := db.Statements() - before; n != 2 {
				t.Errorf("%d statements, want 2", n)
			}
		})
	})
}
