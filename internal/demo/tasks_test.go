package demo

import (
	"context"
	"testing"

	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestLoadBulkLoadsTaskHistoryOverTheRequestedUsers loads tasks over 60
// users and checks the mix the benchmark relies on: the users, about 70 %
// closed, recurring series that are their own first task, unseen
// assignments by others, the busy user's larger share; and that a second
// Load adds nothing.
func TestLoadBulkLoadsTaskHistoryOverTheRequestedUsers(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			db := dbtest.New(t, d)
			ctx := context.Background()
			opt := Options{Companies: 50, Users: 60, Tasks: 6000, Seed: 3}
			sum, err := Load(ctx, db, opt)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Tasks != 6000 {
				t.Fatalf("Summary.Tasks = %d, want 6000", sum.Tasks)
			}
			one := func(query string, args ...any) int {
				t.Helper()
				var n int
				if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
				return n
			}
			if n := one(`SELECT COUNT(*) FROM users WHERE username LIKE 'demo-%'`); n != 60 {
				t.Errorf("%d demo users, want 60", n)
			}
			if n := one(`SELECT COUNT(DISTINCT assigned_to) FROM tasks`); n != 60 {
				t.Errorf("tasks assigned to %d users, want all 60", n)
			}
			if n := one(`SELECT COUNT(*) FROM tasks WHERE status IN ('done', 'cancelled')`); n < 3900 || n > 4500 {
				t.Errorf("%d closed tasks of 6000, want about 70 %%", n)
			}
			if n := one(`SELECT COUNT(*) FROM tasks WHERE status IN ('done', 'cancelled') AND completed_at IS NULL`); n != 0 {
				t.Errorf("%d closed tasks without completed_at", n)
			}
			if n := one(`SELECT COUNT(*) FROM tasks WHERE recurrence_rrule <> '' AND series_id = id AND series_start = due_at AND status IN ('new', 'in_progress')`); n < 30 {
				t.Errorf("%d open recurring tasks starting their own series, want some", n)
			}
			if n := one(`SELECT COUNT(*) FROM tasks WHERE recurrence_rrule <> '' AND (series_id IS NULL OR series_id <> id)`); n != 0 {
				t.Errorf("%d recurring tasks outside their own series", n)
			}
			if n := one(`SELECT COUNT(*) FROM tasks WHERE NOT seen AND created_by <> assigned_to AND status IN ('new', 'in_progress')`); n < 20 {
				t.Errorf("%d unseen open assignments by others, want some", n)
			}
			busy := one(`SELECT COUNT(*) FROM tasks WHERE assigned_to = $1`, sum.ManagerID)
			if most := one(`SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM tasks GROUP BY assigned_to) c`); busy != most {
				t.Errorf("the busy manager has %d tasks, the most loaded user %d", busy, most)
			}
			again, err := Load(ctx, db, opt)
			if err != nil || again.Tasks != 6000 {
				t.Fatalf("second Load: %d tasks, %v; want 6000 and nothing added", again.Tasks, err)
			}
		})
	}
}
