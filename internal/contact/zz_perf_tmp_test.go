package contact_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestTmpPerf(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		ctx := context.Background()
		var comps []int64
		for i := range 200 {
			comps = append(comps, insertCompany(t, db, fmt.Sprintf("Компания %d", i), cast.BranchA, cast.Alisa.ID))
		}
		s := contact.NewStore(db)
		const n = 300000
		t0 := time.Now()
		for from := 0; from < n; from += 20000 {
			list := make([]contact.NewContact, 20000)
			for i := range list {
				k := from + i
				list[i] = contact.NewContact{CompanyID: comps[k%len(comps)], LastName: fmt.Sprintf("Иванов%d", k), FirstName: "Пётр", Position: "Инженер",
					Phones: []contact.Phone{{Value: fmt.Sprintf("+7 916 %07d", k)}}, CreatedBy: cast.Alisa.ID}
			}
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return s.InsertBatch(ctx, tx, list) }); err != nil {
				t.Fatal(err)
			}
		}
		db.ExecContext(ctx, "ANALYZE")
		t.Logf("load %v", time.Since(t0))
		for _, c := range []struct {
			name string
			m    dbtest.Member
			f    contact.Filter
		}{
			{"list global", cast.Gleb, contact.Filter{}},
			{"list self", cast.Alisa, contact.Filter{}},
			{"list branch", cast.Boris, contact.Filter{}},
			{"phone", cast.Gleb, contact.Filter{Search: "8 916 0012345"}},
			{"name", cast.Gleb, contact.Filter{Search: "иванов12345"}},
			{"name common", cast.Gleb, contact.Filter{Search: "пет"}},
			{"company", cast.Gleb, contact.Filter{CompanyID: comps[5]}},
		} {
			t0 := time.Now()
			var cnt int
			for range 5 {
				_, k, err := s.List(ctx, c.m.Scope, c.f)
				if err != nil {
					t.Fatal(err)
				}
				cnt = k
			}
			t.Logf("%s: %v per call, count %d", c.name, time.Since(t0)/5, cnt)
		}
	})
}
