package jobs_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/notify"
	"github.com/crmprofi/crm/internal/task"
)

// noticesOf counts a user's notifications of a kind about a task.
func noticesOf(t *testing.T, db *database.DB, userID int64, kind string, taskID int64) int {
	t.Helper()
	var n int
	err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2 AND object_id = $3`,
		userID, kind, taskID).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTaskJobsCheckTheTaskAgainWhenTheyRun(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		store := task.NewStore(db, time.UTC) // no subscriber: the test enqueues the jobs itself
		due := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
		tk, err := store.Create(ctx, cast.Boris.Scope, task.Input{Title: company.OptString{Set: true, Value: "Проверка"},
			DueAt: company.OptString{Set: true, Value: due.Format(time.RFC3339)}, AssignedTo: task.OptAssignee{Set: true, Value: cast.Alisa.ID}})
		if err != nil {
			t.Fatal(err)
		}
		j := newJobs(t, db, jobs.Options{NoPeriodic: true})
		enqueue := func(args ...jobs.TaskDueArgs) []int64 {
			t.Helper()
			var ids []int64
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				for _, a := range args {
					id, err := j.Enqueue(ctx, tx, a)
					if err != nil {
						return err
					}
					ids = append(ids, id)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		current := jobs.TaskDueArgs{TaskID: tk.ID, DueAt: tk.DueAt, AssignedTo: cast.Alisa.ID}
		stale := current
		stale.DueAt = tk.DueAt.Add(-time.Hour) // the time before a reschedule
		other := current
		other.AssignedTo = cast.Boris.ID // the assignee before a reassignment
		// The current job twice (a cancel missed, a retry): one notification.
		ids := enqueue(stale, other, current, current)
		rem := int64(0)
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			rem, err = j.Enqueue(ctx, tx, jobs.TaskReminderArgs{TaskID: tk.ID, AssignedTo: cast.Alisa.ID})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rem)
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the jobs completed", func() bool {
			for _, id := range ids {
				row, err := j.Client().JobGet(ctx, id)
				if err != nil || row.State != "completed" {
					return false
				}
			}
			return true
		})
		t.Run("only the job that matches the task notifies, once", func(t *testing.T) {
			if n := noticesOf(t, db, cast.Alisa.ID, notify.KindTaskDue, tk.ID); n != 1 {
				t.Fatalf("%d due notifications, want 1", n)
			}
			if n := noticesOf(t, db, cast.Boris.ID, notify.KindTaskDue, tk.ID); n != 0 {
				t.Fatalf("the old assignee got %d", n)
			}
		})
		t.Run("an unopened assignment is reminded of", func(t *testing.T) {
			if n := noticesOf(t, db, cast.Alisa.ID, notify.KindTaskNew, tk.ID); n != 1 {
				t.Fatalf("%d reminders, want 1", n)
			}
		})
		t.Run("an opened or closed task is not", func(t *testing.T) {
			mk := func(title string) task.Task {
				t.Helper()
				x, err := store.Create(ctx, cast.Boris.Scope, task.Input{Title: company.OptString{Set: true, Value: title},
					DueAt: company.OptString{Set: true, Value: due.Format(time.RFC3339)}, AssignedTo: task.OptAssignee{Set: true, Value: cast.Alisa.ID}})
				if err != nil {
					t.Fatal(err)
				}
				return x
			}
			opened, closed := mk("Открытая"), mk("Закрытая")
			if _, err := store.Get(ctx, cast.Alisa.Scope, opened.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := store.Complete(ctx, cast.Alisa.Scope, closed.ID, "Готово", 0); err != nil {
				t.Fatal(err)
			}
			var ids []int64
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				for _, x := range []task.Task{opened, closed} {
					id, err := j.Enqueue(ctx, tx, jobs.TaskReminderArgs{TaskID: x.ID, AssignedTo: cast.Alisa.ID})
					if err != nil {
						return err
					}
					ids = append(ids, id)
				}
				id, err := j.Enqueue(ctx, tx, jobs.TaskDueArgs{TaskID: closed.ID, DueAt: closed.DueAt, AssignedTo: cast.Alisa.ID})
				ids = append(ids, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the jobs ran", func() bool {
				for _, id := range ids {
					row, err := j.Client().JobGet(ctx, id)
					if err != nil || row.State != "completed" {
						return false
					}
				}
				return true
			})
			for _, x := range []task.Task{opened, closed} {
				if n := noticesOf(t, db, cast.Alisa.ID, notify.KindTaskNew, x.ID) + noticesOf(t, db, cast.Alisa.ID, notify.KindTaskDue, x.ID); n != 0 {
					t.Errorf("%s: %d notifications", x.Title, n)
				}
			}
		})
	})
}
