package task_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
)

// TestListsKeepOneGenericPlan: PostgreSQL plans a prepared statement
// for its parameters five times and then keeps a generic plan only if it
// costs no more. The task lists carry their LIMITs, OFFSETs and bounds as
// numbers in the text (lit), so that plan is kept and a request is not
// planned again: with parameters there, a generic plan was costed at a
// tenth of the rows and never kept — 3–5 ms of planning on every request
// for a statement that runs in one. SQLite has no such choice; there the
// lists must simply give the same pages every time.
// planTasks is how many tasks TestListsKeepOneGenericPlan adds on
// PostgreSQL.
const planTasks = 60000

func TestListsKeepOneGenericPlan(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		// Open and done tasks over the cast and both companies: on
		// PostgreSQL enough for a plan's cost to follow its LIMIT.
		users := []int64{c.Alisa.ID, c.Boris.ID, c.Vera.ID, c.Gleb.ID, c.Darya.ID, c.Admin.ID}
		if db.Dialect == database.Postgres {
			if _, err := db.ExecContext(ctx, `INSERT INTO tasks (title, title_norm, status, due_at, all_day, assigned_to, created_by, company_id, seen, created_at, updated_at)
				SELECT 'Задача', 'задача', CASE WHEN i % 3 = 0 THEN 'new' ELSE 'done' END, TIMESTAMPTZ '2030-01-01 09:00:00Z' + i * INTERVAL '1 hour', FALSE,
					($1::BIGINT[])[i % 6 + 1], ($1::BIGINT[])[(i / 7) % 6 + 1], CASE i % 4 WHEN 0 THEN $2::BIGINT WHEN 1 THEN $3::BIGINT END, TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
				FROM generate_series(0, $4::INTEGER - 1) i`, users, w.compA, w.compB, planTasks); err != nil {
				t.Fatal(err)
			}
		} else {
			for i := range 300 {
				status := "done"
				if i%3 == 0 {
					status = "new"
				}
				var company any
				switch i % 4 {
				case 0:
					company = w.compA
				case 1:
					company = w.compB
				}
				due := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
				if _, err := db.ExecContext(ctx, `INSERT INTO tasks (title, title_norm, status, due_at, all_day, assigned_to, created_by, company_id, seen, created_at, updated_at)
					VALUES ('Задача', 'задача', $1, $2, FALSE, $3, $4, $5, TRUE, $2, $2)`, status, due, users[i%len(users)], users[(i/7)%len(users)], company); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Statistics from every row, not from ANALYZE's random sample of
		// 30,000 (300 times the statistics target): with a sample the
		// estimates, and so whether the generic plan looks cheap enough,
		// changed from run to run (one CI run in many kept custom plans).
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if db.Dialect == database.Postgres {
				if _, err := tx.ExecContext(ctx, "SET LOCAL default_statistics_target = 1000"); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "ANALYZE")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1) // one session: its prepared statements
		cases := []struct {
			name string
			run  func() (int, error)
		}{
			{"a branch director's «все доступные»", func() (int, error) {
				l, _, err := w.store.List(ctx, c.Boris.Scope, task.Filter{State: "open", CountCap: 1000})
				return len(l), err
			}},
			{"the admin's «все доступные»", func() (int, error) {
				l, _, err := w.store.List(ctx, c.Admin.Scope, task.Filter{State: "open", CountCap: 1000})
				return len(l), err
			}},
			{"a manager's «мои»", func() (int, error) {
				l, _, err := w.store.List(ctx, c.Alisa.Scope, task.Filter{State: "open", AssignedTo: c.Alisa.ID, CountCap: 1000})
				return len(l), err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name+" is planned once and then reuses its plan", func(t *testing.T) {
				first := -1
				for range 8 {
					n, err := tc.run()
					if err != nil {
						t.Fatal(err)
					}
					if first == -1 {
						first = n
					} else if n != first {
						t.Fatalf("%d rows, then %d", first, n)
					}
				}
				if first == 0 {
					t.Fatal("no rows")
				}
				if db.Dialect != database.Postgres {
					return
				}
				var generic, custom int
				var text string
				if err := db.QueryRowContext(ctx, `SELECT generic_plans, custom_plans, statement FROM pg_prepared_statements
					WHERE statement LIKE $1 ORDER BY prepare_time DESC LIMIT 1`, "%FROM tasks t%").Scan(&generic, &custom, &text); err != nil {
					t.Fatal(err)
				}
				if generic == 0 {
					t.Errorf("%d custom plans and no generic one for %.200s…", custom, text)
				}
			})
		}
	})
}
