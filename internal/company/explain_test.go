package company

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestSearchPlans loads CRM_EXPLAIN_ROWS companies (skipped when unset;
// try 300000) and logs the query plan and the time of every search shape
// on each database, so a change that loses an index shows up. Run with -v.
func TestSearchPlans(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CRM_EXPLAIN_ROWS"))
	if n == 0 {
		t.Skip("set CRM_EXPLAIN_ROWS to load that many companies and log the query plans")
	}
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := NewStore(db)
		words := []string{"альфа", "бета", "вектор", "гранит", "дельта", "енисей", "жемчуг", "звезда", "импульс",
			"кристалл", "лидер", "магистраль", "норд", "орион", "прогресс", "ресурс", "сигма", "техно", "урал"}
		resp := []int64{cast.Alisa.ID, cast.Boris.ID, cast.Vera.ID, cast.Gleb.ID}
		start := time.Now()
		const chunk = 20000
		for off := 0; off < n; off += chunk {
			list := make([]NewCompany, 0, chunk)
			for i := off; i < min(off+chunk, n); i++ {
				c := NewCompany{
					Name:          fmt.Sprintf("ООО «%s %s %d»", words[i%len(words)], words[(i/7)%len(words)], i),
					INN:           fmt.Sprintf("%010d", 1000000000+i),
					ResponsibleID: resp[i%len(resp)],
					BranchID:      []int64{cast.BranchA, cast.BranchB}[i%2],
					Phones:        []Phone{{Value: fmt.Sprintf("8 (495) %03d-%02d-%02d", i/10000, (i/100)%100, i%100), Kind: "work"}},
				}
				_ = c.Normalize()
				list = append(list, c)
			}
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				_, err := s.InsertBatch(ctx, tx, list)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// The steady state of a running server: statistics gathered, the
		// WAL checkpointed (SQLite), the visibility map set (PostgreSQL's
		// autovacuum), so index-only scans are possible.
		settle := []string{"ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"}
		if db.Dialect == database.Postgres {
			settle = []string{"VACUUM ANALYZE"}
		}
		for _, q := range settle {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: loaded %d companies in %v", db.Dialect, n, time.Since(start).Round(time.Millisecond))
		for _, c := range []struct {
			name  string
			scope access.Scope
			q     Query
		}{
			{"list, global", cast.Gleb.Scope, Query{}},
			{"list, branch scope", cast.Boris.Scope, Query{}},
			{"list, self scope", cast.Alisa.Scope, Query{}},
			{"list, page 100", cast.Gleb.Scope, Query{Page: 100}},
			{"name, two words", cast.Gleb.Scope, Query{Text: "кристалл бет"}},
			{"name, common prefix", cast.Gleb.Scope, Query{Text: "а"}},
			{"inn", cast.Gleb.Scope, Query{Text: "1000012345"}},
			{"phone", cast.Boris.Scope, Query{Text: "+7 495 001-23-45"}},
			{"filter by responsible", cast.Gleb.Scope, Query{Responsible: cast.Vera.ID}},
		} {
			p, err := s.plan(c.scope, c.q)
			if err != nil {
				t.Fatal(err)
			}
			// The best of three: the first run warms the caches.
			var (
				res  Result
				took time.Duration
			)
			for i := range 3 {
				t0 := time.Now()
				res, err = s.Search(ctx, c.scope, c.q)
				if err != nil {
					t.Fatal(err)
				}
				if d := time.Since(t0); i == 0 || d < took {
					took = d
				}
			}
			t.Logf("%s / %s: %d found, %v\n  count: %s\n  page:  %s", db.Dialect, c.name, res.Count, took.Round(10*time.Microsecond),
				explain(t, db, p.countSQL, p.countArgs), explain(t, db, p.pageSQL, p.pageArgs))
		}
	})
}

func explain(t *testing.T, db *database.DB, q string, args []any) string {
	t.Helper()
	prefix := "EXPLAIN QUERY PLAN "
	if db.Dialect == database.Postgres {
		prefix = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) "
	}
	rows, err := db.QueryContext(context.Background(), prefix+q, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n         ")
}
