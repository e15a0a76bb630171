package task_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// groupOf is the desk group a task id is in ("" when in none).
func groupOf(d task.Dashboard, id int64) string {
	for name, list := range map[string][]task.Task{"overdue": d.Overdue, "today": d.Today, "week": d.Week} {
		for _, t := range list {
			if t.ID == id {
				return name
			}
		}
	}
	return ""
}

// TestDashboardGroupsInTheViewersZone puts the same tasks on the desks of
// viewers in four zones at moments next to midnight, the week's end and
// DST changes: each task lands where StateAt says for that zone, and the
// counts agree with the rows.
func TestDashboardGroupsInTheViewersZone(t *testing.T) {
	type due struct {
		name   string
		at     string // RFC 3339, or a date for an all-day task
		groups map[string]string
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		// zone → group per task ("" = later, not on the desk)
		tasks []due
	}{
		{
			name: "Thursday 22:00 in Moscow is already Friday in Yekaterinburg",
			now:  time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC),
			tasks: []due{
				{"due 23:30 Moscow", "2026-12-03T20:30:00Z", map[string]string{
					"Europe/Moscow": "today", "Asia/Yekaterinburg": "today", "Europe/Berlin": "today", "America/New_York": "today"}},
				{"due an hour ago", "2026-12-03T18:00:00Z", map[string]string{
					"Europe/Moscow": "overdue", "Asia/Yekaterinburg": "overdue", "Europe/Berlin": "overdue", "America/New_York": "overdue"}},
				{"all day Thursday", "2026-12-03", map[string]string{
					"Europe/Moscow": "today", "Asia/Yekaterinburg": "overdue", "Europe/Berlin": "today", "America/New_York": "today"}},
				{"all day Friday", "2026-12-04", map[string]string{
					"Europe/Moscow": "week", "Asia/Yekaterinburg": "today", "Europe/Berlin": "week", "America/New_York": "week"}},
				{"Friday 07:30 Moscow", "2026-12-04T04:30:00Z", map[string]string{
					"Europe/Moscow": "week", "Asia/Yekaterinburg": "today", "Europe/Berlin": "week", "America/New_York": "today"}},
				{"Sunday 23:30 Moscow", "2026-12-06T20:30:00Z", map[string]string{
					"Europe/Moscow": "week", "Asia/Yekaterinburg": "", "Europe/Berlin": "week", "America/New_York": "week"}},
				{"all day next Monday", "2026-12-07", map[string]string{
					"Europe/Moscow": "", "Asia/Yekaterinburg": "", "Europe/Berlin": "", "America/New_York": ""}},
			},
		},
		{
			name: "Sunday 23:59 in Moscow: the week is over, Monday is later",
			now:  time.Date(2026, 12, 6, 20, 59, 0, 0, time.UTC),
			tasks: []due{
				{"all day Monday", "2026-12-07", map[string]string{"Europe/Moscow": ""}},
				{"Monday 10:00 Moscow", "2026-12-07T07:00:00Z", map[string]string{"Europe/Moscow": ""}},
				{"Sunday 23:59:30 Moscow", "2026-12-06T20:59:30Z", map[string]string{"Europe/Moscow": "today"}},
			},
		},
		{
			name: "Monday 00:00 in Moscow: a new week begins",
			now:  time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC),
			tasks: []due{
				{"all day Monday", "2026-12-07", map[string]string{"Europe/Moscow": "today"}},
				{"Monday 10:00 Moscow", "2026-12-07T07:00:00Z", map[string]string{"Europe/Moscow": "today"}},
				{"Tuesday 10:00 Moscow", "2026-12-08T07:00:00Z", map[string]string{"Europe/Moscow": "week"}},
				{"all day Sunday", "2026-12-06", map[string]string{"Europe/Moscow": "overdue"}},
			},
		},
		{
			name: "the night New York springs forward, Sunday is 23 hours long",
			now:  time.Date(2026, 3, 7, 17, 0, 0, 0, time.UTC), // Saturday 12:00 EST
			tasks: []due{
				{"Sunday 23:30 EDT", "2026-03-09T03:30:00Z", map[string]string{"America/New_York": "week"}},
				{"Monday 00:30 EDT", "2026-03-09T04:30:00Z", map[string]string{"America/New_York": ""}},
				{"Saturday 23:30 EST", "2026-03-08T04:30:00Z", map[string]string{"America/New_York": "today"}},
				{"Sunday 00:30 EST", "2026-03-08T05:30:00Z", map[string]string{"America/New_York": "week"}},
			},
		},
		{
			name: "the weekend Berlin springs forward",
			now:  time.Date(2026, 3, 28, 11, 0, 0, 0, time.UTC), // Saturday 12:00 CET
			tasks: []due{
				{"Sunday 23:30 CEST", "2026-03-29T21:30:00Z", map[string]string{"Europe/Berlin": "week"}},
				{"Monday 00:30 CEST", "2026-03-29T22:30:00Z", map[string]string{"Europe/Berlin": ""}},
				{"all day Sunday", "2026-03-29", map[string]string{"Europe/Berlin": "week"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *database.DB) {
				ctx := context.Background()
				cast := dbtest.NewCast(t, db)
				store := task.NewStore(db, time.UTC)
				ids := make([]int64, len(tc.tasks))
				for i, d := range tc.tasks {
					tk, err := store.Create(ctx, cast.Alisa.Scope, task.Input{Title: str(d.name), DueAt: str(d.at)})
					if err != nil {
						t.Fatalf("create %s: %v", d.name, err)
					}
					ids[i] = tk.ID
				}
				zones := map[string]bool{}
				for _, d := range tc.tasks {
					for z := range d.groups {
						zones[z] = true
					}
				}
				for z := range zones {
					loc := zone(t, z)
					d, err := store.Dashboard(ctx, cast.Alisa.Scope, cast.Alisa.ID, tc.now, loc)
					if err != nil {
						t.Fatal(err)
					}
					for i, due := range tc.tasks {
						want, ok := due.groups[z]
						if !ok {
							continue
						}
						if got := groupOf(d, ids[i]); got != want {
							t.Errorf("%s, viewer in %s: group %q, want %q", due.name, z, got, want)
						}
					}
					// Every row agrees with StateAt, and the counts with the rows.
					for _, g := range []struct {
						name string
						rows []task.Task
						n    int
					}{{"overdue", d.Overdue, d.Counts.Overdue}, {"today", d.Today, d.Counts.Today}, {"week", d.Week, d.Counts.Week}} {
						if len(g.rows) != g.n {
							t.Errorf("%s in %s: %d rows, count %d", g.name, z, len(g.rows), g.n)
						}
						for _, row := range g.rows {
							if st := task.StateAt(row.DueAt, row.AllDay, tc.now, loc); string(st) != g.name || row.State != g.name {
								t.Errorf("%s in %s: %q has StateAt %q, State %q", g.name, z, row.Title, st, row.State)
							}
						}
					}
				}
			})
		})
	}
}

// TestDashboardNewAssignmentsAndRowLimits: assignments by someone else
// that the assignee has not opened are new, their own are not; closed
// tasks are on no group; each group shows its first rows by due time and
// counts them all.
func TestDashboardNewAssignmentsAndRowLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := dbtest.NewCast(t, db)
		store := task.NewStore(db, time.UTC)
		now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC) // Thursday
		create := func(sc access.Scope, title, due string, assignee int64) task.Task {
			t.Helper()
			tk, err := store.Create(ctx, sc, task.Input{Title: str(title), DueAt: str(due), AssignedTo: who(assignee)})
			if err != nil {
				t.Fatalf("create %s: %v", title, err)
			}
			return tk
		}
		var overdue []int64
		for i := range 7 {
			overdue = append(overdue, create(c.Alisa.Scope, fmt.Sprintf("Просрочена %d", i), fmt.Sprintf("2026-11-%02dT10:00:00Z", 20+i), c.Alisa.ID).ID)
		}
		fromBoris := create(c.Boris.Scope, "От Бориса", "2026-12-03T15:00:00Z", c.Alisa.ID)
		opened := create(c.Boris.Scope, "Открытая", "2026-12-04T15:00:00Z", c.Alisa.ID)
		if _, err := store.Get(ctx, c.Alisa.Scope, opened.ID); err != nil {
			t.Fatal(err)
		}
		later := create(c.Boris.Scope, "Через месяц", "2027-01-10T15:00:00Z", c.Alisa.ID)
		done := create(c.Alisa.Scope, "Сделана", "2026-12-03T12:00:00Z", c.Alisa.ID)
		if _, err := db.ExecContext(ctx, `UPDATE tasks SET status = 'done', completed_at = $1 WHERE id = $2`, now, done.ID); err != nil {
			t.Fatal(err)
		}
		create(c.Boris.Scope, "Борису", "2026-12-03T15:00:00Z", c.Boris.ID)

		d, err := store.Dashboard(ctx, c.Alisa.Scope, c.Alisa.ID, now, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if d.Counts != (task.Counts{Overdue: 7, Today: 1, Week: 1, NewAssignments: 2}) {
			t.Errorf("counts = %+v", d.Counts)
		}
		var got []int64
		for _, tk := range d.Overdue {
			got = append(got, tk.ID)
		}
		if !slices.Equal(got, overdue[:task.DeskRows]) {
			t.Errorf("overdue rows %v, want the first five by due time %v", got, overdue[:task.DeskRows])
		}
		var fresh []int64
		for _, tk := range d.NewAssignments {
			fresh = append(fresh, tk.ID)
		}
		if !slices.Equal(fresh, []int64{later.ID, fromBoris.ID}) {
			t.Errorf("new assignments %v, want %v (latest first, the opened one and her own not)", fresh, []int64{later.ID, fromBoris.ID})
		}
		if d.NewAssignments[1].CreatedByName != "Борис Бородин" {
			t.Errorf("new assignment author %q", d.NewAssignments[1].CreatedByName)
		}
		if groupOf(d, done.ID) != "" {
			t.Error("a done task is on the desk")
		}

		all, err := store.DashboardN(ctx, c.Alisa.Scope, c.Alisa.ID, now, time.UTC, 50)
		if err != nil || len(all.Overdue) != 7 {
			t.Fatalf("DashboardN(50): %d overdue rows, %v", len(all.Overdue), err)
		}
		counts, err := store.DeskCounts(ctx, c.Alisa.Scope, c.Alisa.ID, now, time.UTC)
		if err != nil || counts != d.Counts {
			t.Errorf("DeskCounts = %+v, %v; want %+v", counts, err, d.Counts)
		}

		// Someone else's desk: only what the viewer may see of it.
		vera, err := store.Dashboard(ctx, c.Vera.Scope, c.Alisa.ID, now, time.UTC)
		if err != nil || vera.Counts != (task.Counts{}) || len(vera.Overdue) != 0 {
			t.Errorf("Вера sees Алиса's desk: %+v, %v", vera.Counts, err)
		}
		empty, err := store.Dashboard(ctx, access.Scope{}, c.Alisa.ID, now, time.UTC)
		if err != nil || empty.Counts != (task.Counts{}) || empty.Overdue == nil {
			t.Errorf("no one's desk: %+v, %v", empty, err)
		}
	})
}

// TestDashboardSendsOneStatement: the desk's groups and counts come in
// one SQL statement however many tasks there are, and each chart in one.
func TestDashboardSendsOneStatement(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := dbtest.NewCast(t, db)
		store := task.NewStore(db, time.UTC)
		now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
		measure := func() (desk, counts, done, companies int64) {
			t.Helper()
			n := db.Statements()
			if _, err := store.Dashboard(ctx, c.Alisa.Scope, c.Alisa.ID, now, time.UTC); err != nil {
				t.Fatal(err)
			}
			desk, n = db.Statements()-n, db.Statements()
			if _, err := store.DeskCounts(ctx, c.Alisa.Scope, c.Alisa.ID, now, time.UTC); err != nil {
				t.Fatal(err)
			}
			counts, n = db.Statements()-n, db.Statements()
			if _, err := store.DoneByWeek(ctx, c.Alisa.Scope, c.Alisa.ID, now, time.UTC, 8); err != nil {
				t.Fatal(err)
			}
			done, n = db.Statements()-n, db.Statements()
			if _, err := store.NewCompaniesByMonth(ctx, c.Alisa.Scope, now, time.UTC, 12); err != nil {
				t.Fatal(err)
			}
			return desk, counts, done, db.Statements() - n
		}
		for round, tasks := range []int{0, 3, 40} {
			for i := range tasks {
				due := now.Add(time.Duration(i-tasks/2) * 7 * time.Hour).Format(time.RFC3339)
				if _, err := store.Create(ctx, c.Boris.Scope, task.Input{Title: str(fmt.Sprintf("Задача %d-%d", round, i)), DueAt: str(due), AssignedTo: who(c.Alisa.ID)}); err != nil {
					t.Fatal(err)
				}
			}
			desk, counts, done, companies := measure()
			if desk != 1 || counts != 1 || done != 1 || companies != 1 {
				t.Errorf("with %d more tasks: desk %d, counts %d, done chart %d, companies chart %d statements; want 1 each",
					tasks, desk, counts, done, companies)
			}
		}
	})
}

// TestDeskCharts counts done tasks per week and new companies per month
// in the viewer's zone, oldest first, the latter only among the companies
// the viewer sees.
func TestDeskCharts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := dbtest.NewCast(t, db)
		store := task.NewStore(db, time.UTC)
		msk := zone(t, "Europe/Moscow")
		now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC) // Thursday
		doneAt := func(title string, at time.Time, assignee access.Scope) {
			t.Helper()
			tk, err := store.Create(ctx, assignee, task.Input{Title: str(title), DueAt: str("2026-10-01")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `UPDATE tasks SET status = 'done', completed_at = $1 WHERE id = $2`, at, tk.ID); err != nil {
				t.Fatal(err)
			}
		}
		doneAt("this week", time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), c.Alisa.Scope)
		// Sunday 23:30 Moscow is the week before; Monday 00:30 Moscow this week.
		doneAt("sunday night", time.Date(2026, 11, 29, 20, 30, 0, 0, time.UTC), c.Alisa.Scope)
		doneAt("monday night", time.Date(2026, 11, 29, 21, 30, 0, 0, time.UTC), c.Alisa.Scope)
		doneAt("seven weeks ago", time.Date(2026, 10, 13, 10, 0, 0, 0, time.UTC), c.Alisa.Scope)
		doneAt("too old", time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC), c.Alisa.Scope)
		doneAt("Вера's", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), c.Vera.Scope)

		weeks, err := store.DoneByWeek(ctx, c.Alisa.Scope, c.Alisa.ID, now, msk, 8)
		if err != nil {
			t.Fatal(err)
		}
		var counts []int
		for _, p := range weeks {
			counts = append(counts, p.Count)
		}
		if !slices.Equal(counts, []int{1, 0, 0, 0, 0, 0, 1, 2}) {
			t.Errorf("done per week = %v", counts)
		}
		if first := weeks[0].Start; !first.Equal(time.Date(2026, 10, 12, 0, 0, 0, 0, msk)) || first.Weekday() != time.Monday {
			t.Errorf("first week starts %v", first)
		}

		addCompany := func(name string, responsible dbtest.Member, branch int64, at time.Time) {
			t.Helper()
			if _, err := db.ExecContext(ctx, `INSERT INTO companies (name, name_norm, branch_id, responsible_id, created_by, created_at, updated_at)
				VALUES ($1, $1, $2, $3, $3, $4, $4)`, name, branch, responsible.ID, at); err != nil {
				t.Fatal(err)
			}
		}
		addCompany("декабрь", c.Alisa, c.BranchA, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
		// 23:30 on 30 November in UTC is already December in Moscow.
		addCompany("полночь", c.Alisa, c.BranchA, time.Date(2026, 11, 30, 21, 30, 0, 0, time.UTC))
		addCompany("январь", c.Alisa, c.BranchA, time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC))
		addCompany("веры", c.Vera, c.BranchB, time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
		addCompany("прошлый год", c.Alisa, c.BranchA, time.Date(2025, 12, 15, 8, 0, 0, 0, time.UTC))

		for _, tc := range []struct {
			m    dbtest.Member
			want []int
		}{
			{c.Alisa, []int{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}},
			{c.Admin, []int{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3}},
			{c.Vera, []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		} {
			t.Run(tc.m.Username+" sees the companies of their scope", func(t *testing.T) {
				months, err := store.NewCompaniesByMonth(ctx, tc.m.Scope, now, msk, 12)
				if err != nil {
					t.Fatal(err)
				}
				var got []int
				for _, p := range months {
					got = append(got, p.Count)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("companies per month = %v, want %v", got, tc.want)
				}
				if months[0].Start.Month() != time.January || months[11].Start.Month() != time.December {
					t.Errorf("months from %v to %v", months[0].Start, months[11].Start)
				}
			})
		}
	})
}

// TestCompanyMonthsEqualTheCompanies proves the tally behind the chart
// «Новые компании по месяцам» (company_months, migration 00043) equals a
// count of the companies themselves: companies are created next to
// month edges (row by row and through the bulk path), trashed, restored,
// moved to another responsible and branch and deleted; then for viewers
// in zones east and west of UTC, on whole and half hours, and for every
// member of the cast, each month's count is the plain count of the live
// companies of that month the viewer may see.
func TestCompanyMonthsEqualTheCompanies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		c := dbtest.NewCast(t, db)
		store := task.NewStore(db, time.UTC)
		companies := company.NewStore(db)
		now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
		owners := []dbtest.Member{c.Alisa, c.Boris, c.Vera, c.Gleb, c.Admin}
		// Around each UTC month start: 13 h before (west of New York's
		// edge), 4 h 30 min before (Kolkata's edge is 5 h 30 min before),
		// 3 h before exactly (Moscow's edge), 1 s before, on it, 4 h after
		// (New York's edge is 5 h after), 6 h after, mid-month.
		offsets := []time.Duration{-13 * time.Hour, -270 * time.Minute, -3 * time.Hour, -time.Second, 0,
			4 * time.Hour, 6 * time.Hour, 15 * 24 * time.Hour}
		var rowByRow []int64
		var batch []company.NewCompany
		k := 0
		for m := -13; m <= 1; m++ {
			start := time.Date(2026, time.Month(12+m), 1, 0, 0, 0, 0, time.UTC)
			for _, off := range offsets {
				owner := owners[k%len(owners)]
				at := start.Add(off)
				if k%2 == 0 {
					var id int64
					if err := db.QueryRowContext(ctx, `INSERT INTO companies (name, name_norm, branch_id, responsible_id, created_by, created_at, updated_at)
						VALUES ($1, $1, $2, $3, $3, $4, $4) RETURNING id`, fmt.Sprintf("к%d", k), database.NullInt64(owner.Scope.BranchID), owner.ID, at).Scan(&id); err != nil {
						t.Fatal(err)
					}
					rowByRow = append(rowByRow, id)
				} else {
					batch = append(batch, company.NewCompany{Name: fmt.Sprintf("пакет %d", k), ResponsibleID: owner.ID,
						BranchID: owner.Scope.BranchID, CreatedBy: c.Admin.ID, CreatedAt: at})
				}
				k++
			}
		}
		if len(batch) < database.BulkMin {
			t.Fatalf("the batch of %d does not take the bulk path", len(batch))
		}
		for i := range batch {
			if inv := batch[i].Normalize(); len(inv) > 0 {
				t.Fatal(inv)
			}
		}
		var batchIDs []int64
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			batchIDs, err = companies.InsertBatch(ctx, tx, batch)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		trashed := database.Now()
		for i, id := range append(rowByRow, batchIDs...) {
			switch i % 7 {
			case 1: // in the trash
				exec(`UPDATE companies SET deleted_at = $1 WHERE id = $2`, trashed, id)
			case 2: // trashed and restored
				exec(`UPDATE companies SET deleted_at = $1 WHERE id = $2`, trashed, id)
				exec(`UPDATE companies SET deleted_at = NULL WHERE id = $1`, id)
			case 3: // handed to Вера in branch B
				exec(`UPDATE companies SET responsible_id = $1, branch_id = $2 WHERE id = $3`, c.Vera.ID, c.BranchB, id)
			case 4: // deleted for good
				exec(`DELETE FROM companies WHERE id = $1`, id)
			case 5: // without a branch or responsible
				exec(`UPDATE companies SET responsible_id = NULL, branch_id = NULL WHERE id = $1`, id)
			}
		}
		for _, name := range []string{"UTC", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Kolkata", "America/New_York", "Pacific/Honolulu"} {
			loc := zone(t, name)
			for _, m := range c.All() {
				got, err := store.NewCompaniesByMonth(ctx, m.Scope, now, loc, 14)
				if err != nil {
					t.Fatal(err)
				}
				edges := task.MonthStarts(now, loc, 14)
				total := 0
				for i, p := range got {
					var w database.Where
					w.Add("c.deleted_at IS NULL")
					w.Add("c.created_at >= ? AND c.created_at < ?", edges[i].UTC(), edges[i+1].UTC())
					m.Scope.Restrict(&w, "c")
					var want int
					if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM companies c"+w.SQL(), w.Args()...).Scan(&want); err != nil {
						t.Fatal(err)
					}
					if p.Count != want || !p.Start.Equal(edges[i]) {
						t.Errorf("%s, %s, month from %v: %d companies, want %d", name, m.Username, p.Start, p.Count, want)
					}
					total += want
				}
				if m.Username == "admin" && total == 0 {
					t.Errorf("%s: the sample proves nothing", name)
				}
			}
		}
	})
}
