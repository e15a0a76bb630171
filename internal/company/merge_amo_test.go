package company_test

import (
	"context"
	"slices"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestMergeMovesAmoIDsAndUndoMovesThemBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		m := newMergeFixture(t, db)
		ctx := context.Background()
		alisa := m.cast.Alisa.Scope
		for amo, id := range map[int64]int64{101: m.surv, 201: m.dup, 202: m.dup} {
			m.exec(t, `INSERT INTO company_amo_ids (amo_id, company_id) VALUES ($1, $2)`, amo, id)
		}
		amoIDs := func(company int64) []int64 {
			t.Helper()
			ids, err := database.Column[int64](ctx, db, `SELECT amo_id FROM company_amo_ids WHERE company_id = $1 ORDER BY amo_id`, company)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		if _, err := m.store.Merge(ctx, alisa, m.surv, company.MergeInput{Duplicate: m.dup}); err != nil {
			t.Fatal(err)
		}
		if got := amoIDs(m.surv); !slices.Equal(got, []int64{101, 201, 202}) {
			t.Errorf("after the merge the survivor has amoCRM ids %v, want 101, 201, 202", got)
		}
		if got := amoIDs(m.dup); len(got) != 0 {
			t.Errorf("after the merge the absorbed company keeps amoCRM ids %v", got)
		}
		// An id the survivor gets after the merge stays with it on undo.
		m.exec(t, `INSERT INTO company_amo_ids (amo_id, company_id) VALUES (301, $1)`, m.surv)
		if _, err := m.store.Unmerge(ctx, alisa, m.surv, m.dup); err != nil {
			t.Fatal(err)
		}
		if got := amoIDs(m.surv); !slices.Equal(got, []int64{101, 301}) {
			t.Errorf("after undo the survivor has amoCRM ids %v, want 101, 301", got)
		}
		if got := amoIDs(m.dup); !slices.Equal(got, []int64{201, 202}) {
			t.Errorf("after undo the absorbed company has amoCRM ids %v, want 201, 202", got)
		}
	})
}
