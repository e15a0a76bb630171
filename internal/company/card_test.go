package company_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestCardReadsCompanyAndMergesInOneQuery checks that Card returns what Get
// and Merges return, in one statement (the dictionaries in memory): the company's row comes once per
// child row and merge, and two merges must neither repeat a phone, an
// e-mail or a sphere nor lose one.
func TestCardReadsCompanyAndMergesInOneQuery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		m := newMergeFixture(t, db)
		ctx := context.Background()
		alisa := m.cast.Alisa.Scope
		c := m.cast
		third := m.insert(t, company.NewCompany{Name: "Ромашка-3", BranchID: c.BranchA, ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID,
			Phones: []company.Phone{{Value: "+7 812 000-00-03", Kind: "work"}}, Emails: []company.Email{{Value: "three@romashka.ru"}},
			Spheres: []int64{m.spheres[1]}})[0]

		check := func(wantMerges int) {
			t.Helper()
			before := db.Statements()
			card, merges, err := m.store.Card(ctx, alisa, m.surv)
			if err != nil {
				t.Fatal(err)
			}
			if n := db.Statements() - before; n != 1 {
				t.Errorf("Card sent %d statements, want 1", n)
			}
			got, err := m.store.Get(ctx, alisa, m.surv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(card, got) {
				t.Errorf("Card's company differs from Get's:\n%+v\n%+v", card, got)
			}
			want, err := m.store.Merges(ctx, alisa, m.surv)
			if err != nil {
				t.Fatal(err)
			}
			if len(merges) != wantMerges || !reflect.DeepEqual(merges, want) {
				t.Errorf("Card's merges %+v, want %d as Merges lists them: %+v", merges, wantMerges, want)
			}
			for i, mi := range merges {
				if mi.CanUndo != (i == 0) || i > 0 && mi.ID > merges[i-1].ID {
					t.Errorf("merge %d: %+v (newest first, only it undoable)", i, mi)
				}
			}
		}
		// The dictionaries in memory, as a running server holds them: the
		// names of the company's references cost Card no statement then.
		if _, err := m.store.ChoicesAt(ctx, 0); err != nil {
			t.Fatal(err)
		}
		check(0)
		if _, err := m.store.Merge(ctx, alisa, m.surv, company.MergeInput{Duplicate: m.dup}); err != nil {
			t.Fatal(err)
		}
		check(1)
		if _, err := m.store.Merge(ctx, alisa, m.surv, company.MergeInput{Duplicate: third}); err != nil {
			t.Fatal(err)
		}
		check(2)
		card, _, err := m.store.Card(ctx, alisa, m.surv)
		if err != nil {
			t.Fatal(err)
		}
		// The survivor's own phone, the duplicate's mobile (its office
		// number is the same phone) and the third's: none twice.
		if len(card.Phones) != 3 || len(card.Emails) != 3 || len(card.Spheres) != 2 {
			t.Errorf("children after two merges: phones %+v, e-mails %+v, spheres %v", card.Phones, card.Emails, card.Spheres)
		}
		if _, _, err := m.store.Card(ctx, m.cast.Vera.Scope, m.surv); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Card for a user who may not see the company: %v", err)
		}
	})
}
