package task_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
)

func insertCompany(t *testing.T, db *database.DB, name string, branch, responsible int64) int64 {
	t.Helper()
	now := database.Now()
	var id int64
	err := db.QueryRowContext(context.Background(), `INSERT INTO companies (name, name_norm, branch_id, responsible_id, created_by, created_at, updated_at)
		VALUES ($1, $1, $2, $3, $3, $4, $4) RETURNING id`, name, branch, responsible, now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func str(v string) company.OptString { return company.OptString{Set: true, Value: v} }
func id(v int64) company.OptID       { return company.OptID{Set: true, Value: v} }
func who(v int64) task.OptAssignee   { return task.OptAssignee{Set: true, Value: v} }

// world is the cast with two companies and three tasks: t1 on Алиса's
// company A set by Борис for Алиса; t2 Вера's own without a company; t3 on
// Вера's company B that Глеб set himself.
type world struct {
	db         *database.DB
	store      *task.Store
	cast       dbtest.Cast
	compA      int64
	compB      int64
	t1, t2, t3 task.Task
}

func newWorld(t *testing.T, db *database.DB) *world {
	t.Helper()
	w := &world{db: db, cast: dbtest.NewCast(t, db), store: task.NewStore(db, time.UTC)}
	w.compA = insertCompany(t, db, "Альфа", w.cast.BranchA, w.cast.Alisa.ID)
	w.compB = insertCompany(t, db, "Бета", w.cast.BranchB, w.cast.Vera.ID)
	w.t1 = w.create(t, w.cast.Boris.Scope, task.Input{Title: str("Позвонить в Альфу"), DueAt: str("2030-01-10T10:00:00+03:00"),
		AssignedTo: who(w.cast.Alisa.ID), Company: id(w.compA)})
	w.t2 = w.create(t, w.cast.Vera.Scope, task.Input{Title: str("Личное дело"), DueAt: str("2030-01-11")})
	w.t3 = w.create(t, w.cast.Gleb.Scope, task.Input{Title: str("Встреча с Бетой"), DueAt: str("2030-01-12T12:00:00Z"), Company: id(w.compB)})
	return w
}

func (w *world) create(t *testing.T, sc access.Scope, in task.Input) task.Task {
	t.Helper()
	tk, err := w.store.Create(context.Background(), sc, in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Title.Value, err)
	}
	return tk
}

func TestCreateAndGet(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		got := w.t1
		if got.Title != "Позвонить в Альфу" || got.AssignedTo != w.cast.Alisa.ID || *got.CreatedBy != w.cast.Boris.ID ||
			got.AssignedToName != "Алиса Аксёнова" || got.CreatedByName != "Борис Бородин" || got.CompanyName != "Альфа" {
			t.Errorf("task = %+v", got)
		}
		if want := time.Date(2030, 1, 10, 7, 0, 0, 0, time.UTC); !got.DueAt.Equal(want) || got.AllDay {
			t.Errorf("due = %v (all day %v), want %v", got.DueAt, got.AllDay, want)
		}
		if got.Seen || got.Status != task.StatusNew || got.Version != 1 || got.State != "later" {
			t.Errorf("seen %v status %v version %d state %q", got.Seen, got.Status, got.Version, got.State)
		}
		if !w.t2.AllDay || !w.t2.DueAt.Equal(time.Date(2030, 1, 11, 0, 0, 0, 0, time.UTC)) || !w.t2.Seen {
			t.Errorf("all-day own task = %+v", w.t2)
		}
		// Борис reads it: still unseen. Алиса reads it: seen.
		if tk, err := w.store.Get(ctx, w.cast.Boris.Scope, got.ID); err != nil || tk.Seen {
			t.Fatalf("author's read: %v seen=%v", err, tk.Seen)
		}
		var seen []task.ChangeKind
		w.store.OnChange(func(_ context.Context, _ *sql.Tx, c task.Change) error {
			seen = append(seen, c.Kind)
			return nil
		})
		if tk, err := w.store.Get(ctx, w.cast.Alisa.Scope, got.ID); err != nil || !tk.Seen {
			t.Fatalf("assignee's read: %v seen=%v", err, tk.Seen)
		}
		if tk, err := w.store.Get(ctx, w.cast.Alisa.Scope, got.ID); err != nil || !tk.Seen || tk.Version != 1 {
			t.Fatalf("second read: %v seen=%v version %d", err, tk.Seen, tk.Version)
		}
		if len(seen) != 1 || seen[0] != task.Seen {
			t.Errorf("hooks saw %v, want one seen", seen)
		}
	})
}

func TestVisibilityMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		for _, tc := range []struct {
			m    dbtest.Member
			want []int64
		}{
			{c.Admin, []int64{w.t1.ID, w.t3.ID}},
			{c.Alisa, []int64{w.t1.ID}},
			{c.Boris, []int64{w.t1.ID}},
			{c.Vera, []int64{w.t2.ID, w.t3.ID}},
			{c.Gleb, []int64{w.t1.ID, w.t3.ID}},
			{c.Darya, []int64{w.t1.ID, w.t3.ID}},
		} {
			t.Run(tc.m.Username+" sees the tasks of the rule", func(t *testing.T) {
				list, n, err := w.store.List(ctx, tc.m.Scope, task.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, tk := range list {
					got = append(got, tk.ID)
				}
				if n != len(tc.want) || !equal(got, tc.want) {
					t.Errorf("list = %v (count %d), want %v", got, n, tc.want)
				}
				for _, tk := range []task.Task{w.t1, w.t2, w.t3} {
					_, err := w.store.Get(ctx, tc.m.Scope, tk.ID)
					visible := contains(tc.want, tk.ID)
					if visible && err != nil || !visible && !errors.Is(err, apperr.ErrNotFound) {
						t.Errorf("get %d: %v (visible %v)", tk.ID, err, visible)
					}
				}
			})
		}
		t.Run("a company in the trash no longer shows its tasks to others", func(t *testing.T) {
			if _, err := db.ExecContext(ctx, `UPDATE companies SET deleted_at = $1 WHERE id = $2`, database.Now(), w.compB); err != nil {
				t.Fatal(err)
			}
			if _, err := w.store.Get(ctx, c.Darya.Scope, w.t3.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Errorf("Дарья reads a task of a trashed company: %v", err)
			}
			if _, err := w.store.Get(ctx, c.Admin.Scope, w.t3.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Errorf("the admin reads a task of a trashed company: %v", err)
			}
			if list, n, err := w.store.List(ctx, c.Admin.Scope, task.Filter{}); err != nil || n != 1 || len(list) != 1 || list[0].ID != w.t1.ID {
				t.Errorf("the admin's list with B in the trash: %v (count %d), %v", list, n, err)
			}
			if _, err := w.store.Get(ctx, c.Gleb.Scope, w.t3.ID); err != nil {
				t.Errorf("its assignee lost it: %v", err)
			}
			if _, err := db.ExecContext(ctx, `UPDATE companies SET deleted_at = NULL WHERE id = $1`, w.compB); err != nil {
				t.Fatal(err)
			}
			for _, m := range []dbtest.Member{c.Admin, c.Darya} {
				if _, err := w.store.Get(ctx, m.Scope, w.t3.ID); err != nil {
					t.Errorf("%s does not see the task of a restored company: %v", m.Username, err)
				}
			}
		})
		t.Run("the zero scope sees nothing", func(t *testing.T) {
			list, _, err := w.store.List(ctx, access.Scope{}, task.Filter{})
			if err != nil || len(list) != 0 {
				t.Errorf("list = %v, %v", list, err)
			}
		})
	})
}

func TestWriteMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		// t1: on Алиса's company A, by Борис, for Алиса.
		for _, tc := range []struct {
			m            dbtest.Member
			edit, delete error // nil, ErrForbidden or ErrNotFound
		}{
			{c.Admin, nil, nil},
			{c.Alisa, nil, nil}, // the assignee, and responsible for the company
			{c.Boris, nil, nil},
			{c.Vera, apperr.ErrNotFound, apperr.ErrNotFound},
			{c.Gleb, apperr.ErrForbidden, apperr.ErrForbidden},
			{c.Darya, nil, nil},
		} {
			t.Run(tc.m.Username+" edits and deletes as the rule says", func(t *testing.T) {
				_, err := w.store.Update(ctx, tc.m.Scope, w.t1.ID, task.Input{Description: str("от " + tc.m.Username)})
				if !is(err, tc.edit) {
					t.Errorf("update: %v, want %v", err, tc.edit)
				}
				err = db.InTx(ctx, func(tx *sql.Tx) error {
					if _, err := w.store.WithTx(tx).Delete(ctx, tc.m.Scope, w.t1.ID); err != nil {
						return err
					}
					return errRollback
				})
				if tc.delete == nil && !errors.Is(err, errRollback) || tc.delete != nil && !errors.Is(err, tc.delete) {
					t.Errorf("delete: %v, want %v", err, tc.delete)
				}
			})
		}
		t.Run("the assignee of a task set by someone else may not delete it", func(t *testing.T) {
			tk := w.create(t, c.Boris.Scope, task.Input{Title: str("Без компании"), DueAt: str("2030-02-01"), AssignedTo: who(c.Alisa.ID)})
			if _, err := w.store.Delete(ctx, c.Alisa.Scope, tk.ID); !errors.Is(err, apperr.ErrForbidden) {
				t.Errorf("delete: %v", err)
			}
			if _, err := w.store.Delete(ctx, c.Boris.Scope, tk.ID); err != nil {
				t.Errorf("author's delete: %v", err)
			}
		})
	})
}

var errRollback = errors.New("rollback")

func TestAssignMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		for _, tc := range []struct {
			by, to dbtest.Member
			want   error
		}{
			{c.Alisa, c.Alisa, nil},
			{c.Alisa, c.Boris, apperr.ErrForbidden},
			{c.Boris, c.Alisa, nil},
			{c.Boris, c.Vera, apperr.ErrForbidden},
			{c.Vera, c.Gleb, apperr.ErrForbidden},
			{c.Gleb, c.Gleb, nil},
			{c.Darya, c.Vera, nil},
			{c.Admin, c.Alisa, nil},
		} {
			t.Run(tc.by.Username+" assigns "+tc.to.Username+" as the roles say", func(t *testing.T) {
				tk, err := w.store.Create(ctx, tc.by.Scope, task.Input{Title: str("Задача"), DueAt: str("2030-03-01T09:00:00Z"), AssignedTo: who(tc.to.ID)})
				if !is(err, tc.want) {
					t.Fatalf("create: %v, want %v", err, tc.want)
				}
				if err == nil && tk.Seen != (tc.by.ID == tc.to.ID) {
					t.Errorf("seen = %v", tk.Seen)
				}
			})
		}
		t.Run("reassigning follows the same rule and makes the task unseen", func(t *testing.T) {
			_, err := w.store.Update(ctx, c.Alisa.Scope, w.t1.ID, task.Input{AssignedTo: who(c.Boris.ID)})
			if !errors.Is(err, apperr.ErrForbidden) {
				t.Errorf("Алиса passes her task to Борис: %v", err)
			}
			tk, err := w.store.Update(ctx, c.Boris.Scope, w.t1.ID, task.Input{AssignedTo: who(c.Boris.ID)})
			if err != nil || tk.AssignedTo != c.Boris.ID || !tk.Seen {
				t.Fatalf("Борис takes it: %v %+v", err, tk)
			}
			tk, err = w.store.Update(ctx, c.Boris.Scope, w.t1.ID, task.Input{AssignedTo: who(c.Alisa.ID)})
			if err != nil || tk.Seen {
				t.Errorf("Борис gives it back: %v seen=%v", err, tk.Seen)
			}
		})
	})
}

func TestValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		var inactive int64
		if err := db.QueryRowContext(ctx, `INSERT INTO users (username, is_active, date_joined) VALUES ('gone', FALSE, $1) RETURNING id`, database.Now()).Scan(&inactive); err != nil {
			t.Fatal(err)
		}
		otherContact := insertContact(t, db, w.compB, "Петров")
		for _, tc := range []struct {
			name  string
			by    dbtest.Member
			in    task.Input
			field string
		}{
			{"a task needs a title", c.Alisa, task.Input{DueAt: str("2030-01-01")}, "title"},
			{"a 10 KB title is refused", c.Alisa, task.Input{Title: str(strings.Repeat("я", 10000)), DueAt: str("2030-01-01")}, "title"},
			{"a task needs a due date", c.Alisa, task.Input{Title: str("x")}, "due_at"},
			{"a malformed date is refused", c.Alisa, task.Input{Title: str("x"), DueAt: str("завтра")}, "due_at"},
			{"a date out of range is refused", c.Alisa, task.Input{Title: str("x"), DueAt: str("9999-12-31")}, "due_at"},
			{"a 31st of February is refused", c.Alisa, task.Input{Title: str("x"), DueAt: str("2030-02-31")}, "due_at"},
			{"an unknown assignee is refused", c.Darya, task.Input{Title: str("x"), DueAt: str("2030-01-01"), AssignedTo: who(999999)}, "assigned_to"},
			{"an inactive assignee is refused", c.Darya, task.Input{Title: str("x"), DueAt: str("2030-01-01"), AssignedTo: who(inactive)}, "assigned_to"},
			{"an unknown type is refused", c.Alisa, task.Input{Title: str("x"), DueAt: str("2030-01-01"), Type: id(424242)}, "type"},
			{"someone else's company is not found", c.Alisa, task.Input{Title: str("x"), DueAt: str("2030-01-01"), Company: id(w.compB)}, "company"},
			{"a contact of another company is refused", c.Gleb, task.Input{Title: str("x"), DueAt: str("2030-01-01"), Company: id(w.compA), Contact: id(otherContact)}, "contact"},
			{"a bad status is refused", c.Alisa, task.Input{Title: str("x"), DueAt: str("2030-01-01"), Status: str("later")}, "status"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := w.store.Create(ctx, tc.by.Scope, tc.in)
				inv, ok := apperr.AsInvalid(err)
				if !ok || inv[tc.field] == "" {
					t.Errorf("err = %v, want a message for %s", err, tc.field)
				}
			})
		}
		t.Run("a contact alone brings its company", func(t *testing.T) {
			tk, err := w.store.Create(ctx, c.Gleb.Scope, task.Input{Title: str("x"), DueAt: str("2030-01-01"), Contact: id(otherContact)})
			if err != nil || tk.CompanyID == nil || *tk.CompanyID != w.compB || tk.ContactName == "" {
				t.Errorf("task = %+v, %v", tk, err)
			}
		})
		t.Run("a stale version is a conflict", func(t *testing.T) {
			_, err := w.store.Update(ctx, c.Boris.Scope, w.t1.ID, task.Input{Title: str("Новое"), Version: company.OptVersion{Set: true, Value: 1}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.store.Update(ctx, c.Boris.Scope, w.t1.ID, task.Input{Title: str("Ещё"), Version: company.OptVersion{Set: true, Value: 1}})
			if !errors.Is(err, apperr.ErrConflict) {
				t.Errorf("stale update: %v", err)
			}
		})
	})
}

func insertContact(t *testing.T, db *database.DB, companyID int64, last string) int64 {
	t.Helper()
	var id int64
	now := database.Now()
	if err := db.QueryRowContext(context.Background(), `INSERT INTO contacts (company_id, last_name, name_norm, created_at, updated_at) VALUES ($1, $2, $2, $3, $3) RETURNING id`,
		companyID, last, now).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHooksRunInTheTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		var kinds []string
		fail := false
		w.store.OnChange(func(ctx context.Context, tx *sql.Tx, c task.Change) error {
			kinds = append(kinds, string(c.Kind))
			if c.Kind == task.Updated && (c.Before == nil || c.After == nil || c.Before.Title == c.After.Title) {
				t.Errorf("update change without before/after: %+v", c)
			}
			if fail {
				return errors.New("hook refuses")
			}
			return nil
		})
		tk := w.create(t, w.cast.Alisa.Scope, task.Input{Title: str("Хук"), DueAt: str("2030-01-01")})
		if _, err := w.store.Update(ctx, w.cast.Alisa.Scope, tk.ID, task.Input{Title: str("Хук 2")}); err != nil {
			t.Fatal(err)
		}
		fail = true
		if _, err := w.store.Delete(ctx, w.cast.Alisa.Scope, tk.ID); err == nil {
			t.Fatal("a failing hook did not fail the delete")
		}
		if _, err := w.store.Get(ctx, w.cast.Alisa.Scope, tk.ID); err != nil {
			t.Errorf("the delete was not rolled back: %v", err)
		}
		if _, err := w.store.Create(ctx, w.cast.Alisa.Scope, task.Input{Title: str("Откат"), DueAt: str("2030-01-01")}); err == nil {
			t.Fatal("a failing hook did not fail the create")
		}
		fail = false
		list, _, _ := w.store.List(ctx, w.cast.Alisa.Scope, task.Filter{Search: "откат"})
		if len(list) != 0 {
			t.Errorf("the create was not rolled back: %v", list)
		}
		if got := strings.Join(kinds, ","); got != "created,updated,deleted,created" {
			t.Errorf("kinds = %s", got)
		}
	})
}

func TestListFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC) // Thursday
		w.store.SetClock(func() time.Time { return now })
		d := w.cast.Darya.Scope
		mk := func(title, due string) int64 {
			return w.create(t, d, task.Input{Title: str(title), DueAt: str(due)}).ID
		}
		overdue := mk("Просрочено", "2030-01-10T11:00:00Z")
		today := mk("Сегодня ЁЖИК", "2030-01-10T20:00:00Z")
		todayAllDay := mk("Весь день", "2030-01-10")
		week := mk("Неделя", "2030-01-12")
		later := mk("Потом", "2030-01-14T09:00:00Z")
		for _, tc := range []struct {
			f    task.Filter
			want []int64
		}{
			{task.Filter{AssignedTo: w.cast.Darya.ID, State: "overdue"}, []int64{overdue}},
			{task.Filter{AssignedTo: w.cast.Darya.ID, State: "today"}, []int64{todayAllDay, today}},
			{task.Filter{AssignedTo: w.cast.Darya.ID, State: "week"}, []int64{week}},
			{task.Filter{AssignedTo: w.cast.Darya.ID, State: "later"}, []int64{later}},
			{task.Filter{AssignedTo: w.cast.Darya.ID, Search: "ежик"}, []int64{today}},
			{task.Filter{Company: w.compA}, []int64{w.t1.ID}},
			{task.Filter{AssignedTo: w.cast.Darya.ID, DueAfter: now, DueBefore: now.Add(24 * time.Hour)}, []int64{today}},
			{task.Filter{AssignedTo: w.cast.Darya.ID, Size: 2, Page: 2}, []int64{today, week}}, // all-day first: 00:00 UTC
		} {
			t.Run("filter "+strconv.Quote(tc.f.State+tc.f.Search), func(t *testing.T) {
				list, _, err := w.store.List(ctx, d, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, tk := range list {
					got = append(got, tk.ID)
				}
				if !equal(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
	})
}

func TestUserLocation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		c := dbtest.NewCast(t, db)
		ctx := context.Background()
		msk, _ := time.LoadLocation("Europe/Moscow")
		if _, err := db.ExecContext(ctx, `UPDATE users SET time_zone = 'Asia/Yekaterinburg' WHERE id = $1`, c.Boris.ID); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			id   int64
			want string
		}{
			{c.Boris.ID, "Asia/Yekaterinburg"}, // their own
			{c.Vera.ID, "Asia/Novosibirsk"},    // their branch's
			{c.Darya.ID, "Europe/Moscow"},      // the default
			{999999, "Europe/Moscow"},
		} {
			loc, err := task.UserLocation(ctx, db, tc.id, msk)
			if err != nil || loc.String() != tc.want {
				t.Errorf("user %d: %v %v, want %s", tc.id, loc, err, tc.want)
			}
		}
	})
}

func is(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(list []int64, v int64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TestListCountStopsAtTheCap: a list without an assignee counts up to
// CountBound and no further, so «все доступные» costs a few pages however
// many tasks there are; one assignee's list and an uncapped one count
// exactly; a page past the cap counts to its own end.
func TestListCountStopsAtTheCap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		d := w.cast.Darya.Scope
		for i := range 7 {
			w.create(t, d, task.Input{Title: str("Задача " + strconv.Itoa(i)), DueAt: str("2030-01-1" + strconv.Itoa(i))})
		}
		_, exact, err := w.store.List(ctx, d, task.Filter{State: "open"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			f    task.Filter
			want int
		}{
			{"without a cap every task is counted", task.Filter{State: "open"}, exact},
			{"a cap of 3 stops at 4: more than three", task.Filter{State: "open", CountCap: 3, Size: 2}, 4},
			{"one assignee's list is exact whatever the cap", task.Filter{State: "open", AssignedTo: w.cast.Darya.ID, CountCap: 3, Size: 2}, 7},
			{"page 3 of 2 counts to its end and one more", task.Filter{State: "open", CountCap: 3, Size: 2, Page: 3}, 7},
			{"a cap above the total is exact", task.Filter{State: "open", CountCap: 100}, exact},
			{"a page past the end still counts", task.Filter{State: "open", CountCap: 3, Size: 2, Page: 50}, exact},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, n, err := w.store.List(ctx, d, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if n != tc.want {
					t.Errorf("count = %d, want %d (bound %d)", n, tc.want, tc.f.CountBound())
				}
			})
		}
	})
}

// TestParseDueTakesRussianDates: the forms write dates as dd.mm.yyyy and
// times as 24-hour hh:mm whatever the browser's locale; ISO stays for the
// API. A wrong date gets a message that shows the format.
func TestParseDueTakesRussianDates(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in     string
		want   time.Time
		allDay bool
	}{
		{"05.12.2026", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), true},
		{"5.1.2027", time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC), true},
		{"2026-12-05", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), true},
		{"05.12.2026T14:30", time.Date(2026, 12, 5, 14, 30, 0, 0, moscow).UTC(), false},
		{"05.12.2026 9:05", time.Date(2026, 12, 5, 9, 5, 0, 0, moscow).UTC(), false},
		{"2026-12-05T14:30", time.Date(2026, 12, 5, 14, 30, 0, 0, moscow).UTC(), false},
	} {
		got, allDay, err := task.ParseDue(tc.in, moscow)
		if err != nil || !got.Equal(tc.want) || allDay != tc.allDay {
			t.Errorf("ParseDue(%q) = %v, %v, %v; want %v, %v", tc.in, got, allDay, err, tc.want, tc.allDay)
		}
	}
	for _, bad := range []string{"31.02.2026", "12/05/2026", "05.12.2026T25:00", "05.12.26"} {
		if _, _, err := task.ParseDue(bad, moscow); err == nil || !strings.Contains(err.Error(), "ДД.ММ.ГГГГ") {
			t.Errorf("ParseDue(%q) error = %v, want one that shows ДД.ММ.ГГГГ", bad, err)
		}
	}
}

// TestBoundedCountByArmsEqualsTheRule: for every member of the cast the
// bounded count of «все доступные» — for a scope that sees part of the
// base, the union of access.TaskArms each read up to the bound — is the
// exact count of the tasks the member sees, or the bound when there are
// more; tasks that are in two or three arms at once count once. The caps
// step by one so that some bounds are reached by an arm alone and some
// only by the union of arms each below them (Борис at caps 7 and 8).
func TestBoundedCountByArmsEqualsTheRule(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		// In all three of Алиса's arms; in Борис's made and company arms;
		// Вера's company task made by Глеб for himself; Борис's tasks for
		// Алиса without a company, which he sees only as their author.
		for i := range 3 {
			w.create(t, c.Alisa.Scope, task.Input{Title: str("Своя " + strconv.Itoa(i)), DueAt: str("2030-02-0" + strconv.Itoa(i+1)), Company: id(w.compA)})
			w.create(t, c.Boris.Scope, task.Input{Title: str("Поручение " + strconv.Itoa(i)), DueAt: str("2030-02-1" + strconv.Itoa(i)),
				AssignedTo: who(c.Alisa.ID), Company: id(w.compA)})
			w.create(t, c.Gleb.Scope, task.Input{Title: str("Бета " + strconv.Itoa(i)), DueAt: str("2030-02-2" + strconv.Itoa(i)), Company: id(w.compB)})
			// Only in Борис's made arm.
			w.create(t, c.Boris.Scope, task.Input{Title: str("Без компании " + strconv.Itoa(i)), DueAt: str("2030-03-0" + strconv.Itoa(i+1)),
				AssignedTo: who(c.Alisa.ID)})
		}
		for _, m := range c.All() {
			_, exact, err := w.store.List(ctx, m.Scope, task.Filter{State: "open"})
			if err != nil {
				t.Fatal(err)
			}
			for _, cap := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100} {
				f := task.Filter{State: "open", CountCap: cap, Size: 1}
				_, n, err := w.store.List(ctx, m.Scope, f)
				if err != nil {
					t.Fatal(err)
				}
				if want := min(exact, f.CountBound()); n != want {
					t.Errorf("%s, cap %d: counted %d, want %d (exactly %d visible)", m.Username, cap, n, want, exact)
				}
			}
		}
	})
}

// TestPageByArmsEqualsTheRule: for a scope that sees part of the base,
// the capped list («все доступные») reads its page as the union of
// access.TaskArms; every page of it, for every member of the cast and
// filter, in either order, holds the same tasks in the same order as the
// uncapped list, which applies access.RestrictTasks to the whole base:
// tasks in two or three arms appear once, equal due times keep the id
// order, a task of a trashed company stays its author's and assignee's.
func TestPageByArmsEqualsTheRule(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		now := time.Date(2030, 2, 5, 12, 0, 0, 0, time.UTC)
		w.store.SetClock(func() time.Time { return now })
		trashed := insertCompany(t, db, "Гамма", c.BranchA, c.Alisa.ID)
		for i := range 3 {
			day := "2030-02-0" + strconv.Itoa(i+3)
			w.create(t, c.Alisa.Scope, task.Input{Title: str("Своя " + strconv.Itoa(i)), DueAt: str(day), Company: id(w.compA)})
			w.create(t, c.Boris.Scope, task.Input{Title: str("Поручение " + strconv.Itoa(i)), DueAt: str(day),
				AssignedTo: who(c.Alisa.ID), Company: id(w.compA)})
			w.create(t, c.Gleb.Scope, task.Input{Title: str("Бета " + strconv.Itoa(i)), DueAt: str(day), Company: id(w.compB)})
			w.create(t, c.Boris.Scope, task.Input{Title: str("Без компании " + strconv.Itoa(i)), DueAt: str(day + "T10:00:00Z"),
				AssignedTo: who(c.Alisa.ID)})
			w.create(t, c.Boris.Scope, task.Input{Title: str("В корзине " + strconv.Itoa(i)), DueAt: str(day + "T09:00:00Z"),
				AssignedTo: who(c.Boris.ID), Company: id(trashed)})
			w.create(t, c.Darya.Scope, task.Input{Title: str("Чужая " + strconv.Itoa(i)), DueAt: str(day)})
		}
		if _, err := db.ExecContext(ctx, `UPDATE companies SET deleted_at = $1 WHERE id = $2`, database.Now(), trashed); err != nil {
			t.Fatal(err)
		}
		filters := []task.Filter{
			{State: "open"},
			{State: "open", Desc: true},
			{State: "overdue"},
			{State: "week"},
			{Search: "поручение"},
			{Company: w.compA},
			{},
		}
		for _, m := range c.All() {
			for _, f := range filters {
				ids := func(f task.Filter) []int64 {
					t.Helper()
					list, _, err := w.store.List(ctx, m.Scope, f)
					if err != nil {
						t.Fatal(err)
					}
					var out []int64
					for _, tk := range list {
						out = append(out, tk.ID)
					}
					return out
				}
				f.Size = 100
				want := ids(f)
				f.Size, f.CountCap = 2, 1
				var got []int64
				for f.Page = 1; f.Page <= len(want)/2+2; f.Page++ {
					got = append(got, ids(f)...)
				}
				if !equal(got, want) {
					t.Errorf("%s, %+v: pages by arms %v, the rule's %v", m.Username, f, got, want)
				}
			}
		}
	})
}

// TestArmsFollowCompanyOwners: the companies' arms of «все доступные»
// read the task's copy of its company's owner (migration 00052), which
// triggers keep in the writing transaction. After every change that moves
// a company in or out of someone's sight — its responsible, its branch,
// the trash and back, the responsible's branch, the task's company, the
// company's or the branch's hard delete — every member of the cast sees
// through the arms exactly the tasks the rule (access.RestrictTasks over
// the whole base) lets them see, in the same order.
func TestArmsFollowCompanyOwners(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		// Гамма is in branch Б with a responsible of branch А: Борис sees
		// it through his staff, Вера not at all.
		gamma := insertCompany(t, db, "Гамма", c.BranchB, c.Alisa.ID)
		var moved int64
		for i, co := range []int64{w.compA, w.compB, gamma, 0} {
			in := task.Input{Title: str("Дарьи " + strconv.Itoa(i)), DueAt: str("2030-02-0" + strconv.Itoa(i+1))}
			if co != 0 {
				in.Company = id(co)
			}
			tk := w.create(t, c.Darya.Scope, in)
			if co == w.compA {
				moved = tk.ID
			}
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		ids := func(m dbtest.Member, f task.Filter) []int64 {
			t.Helper()
			list, _, err := w.store.List(ctx, m.Scope, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []int64{}
			for _, tk := range list {
				out = append(out, tk.ID)
			}
			return out
		}
		for _, step := range []struct {
			name string
			do   func()
		}{
			{"as created", func() {}},
			{"Альфа passes to Вера", func() { exec(`UPDATE companies SET responsible_id = $1 WHERE id = $2`, c.Vera.ID, w.compA) }},
			{"Альфа moves to branch Б", func() { exec(`UPDATE companies SET branch_id = $1 WHERE id = $2`, c.BranchB, w.compA) }},
			{"Вера moves to branch А", func() { exec(`UPDATE users SET branch_id = $1 WHERE id = $2`, c.BranchA, c.Vera.ID) }},
			{"Гамма goes to the trash", func() { exec(`UPDATE companies SET deleted_at = $1 WHERE id = $2`, database.Now(), gamma) }},
			{"Гамма comes back", func() { exec(`UPDATE companies SET deleted_at = NULL WHERE id = $1`, gamma) }},
			{"Альфа has no responsible", func() { exec(`UPDATE companies SET responsible_id = NULL WHERE id = $1`, w.compA) }},
			{"a task moves to Гамма", func() { exec(`UPDATE tasks SET company_id = $1 WHERE id = $2`, gamma, moved) }},
			{"the task loses its company", func() { exec(`UPDATE tasks SET company_id = NULL WHERE id = $1`, moved) }},
			{"and gets Бета", func() { exec(`UPDATE tasks SET company_id = $1 WHERE id = $2`, w.compB, moved) }},
			{"Гамма is deleted for good", func() { exec(`DELETE FROM companies WHERE id = $1`, gamma) }},
			{"branch Б is deleted", func() { exec(`DELETE FROM branches WHERE id = $1`, c.BranchB) }},
		} {
			step.do()
			for _, m := range c.All() {
				for _, f := range []task.Filter{{State: "open"}, {}} {
					f.Size = 100
					want := ids(m, f)
					f.CountCap = 1
					if got := ids(m, f); !equal(got, want) {
						t.Errorf("%s: %s, %+v: by arms %v, the rule's %v", step.name, m.Username, f, got, want)
					}
				}
			}
		}
	})
}

// TestFilterChoicesReadWhatTheListShows: the list's filters get the task
// types and, only when asked (the assignee filter of «Все доступные»),
// every active user — without the form's «who may I assign to».
func TestFilterChoicesReadWhatTheListShows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		for _, name := range []string{"Звонок", "Встреча"} {
			if _, err := db.ExecContext(ctx, `INSERT INTO task_types (name, icon, color) VALUES ($1, 'phone', '#123456')`, name); err != nil {
				t.Fatal(err)
			}
		}
		var types, users int
		if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM task_types), (SELECT COUNT(*) FROM users WHERE is_active)`).Scan(&types, &users); err != nil {
			t.Fatal(err)
		}
		if types != 2 || users < 6 {
			t.Fatalf("the fixture has %d types and %d users", types, users)
		}
		t.Run("«Мои задачи» read the types alone", func(t *testing.T) {
			ch, err := w.store.FilterChoices(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Types) != types || len(ch.Users) != 0 || len(ch.Assignees) != 0 {
				t.Errorf("%d types, %d users, %d assignees; want %d, 0, 0", len(ch.Types), len(ch.Users), len(ch.Assignees), types)
			}
		})
		t.Run("«Все доступные» read the types and every active user", func(t *testing.T) {
			ch, err := w.store.FilterChoices(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Types) != types || len(ch.Users) != users || len(ch.Assignees) != 0 {
				t.Errorf("%d types, %d users, %d assignees; want %d, %d, 0", len(ch.Types), len(ch.Users), len(ch.Assignees), types, users)
			}
		})
		t.Run("the form still offers a manager herself alone as the assignee", func(t *testing.T) {
			ch, err := w.store.Choices(ctx, w.cast.Alisa.Scope, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Types) != types || len(ch.Users) != users || len(ch.Assignees) != 1 || ch.Assignees[0].ID != w.cast.Alisa.ID {
				t.Errorf("%d types, %d users, assignees %+v", len(ch.Types), len(ch.Users), ch.Assignees)
			}
		})
	})
}
