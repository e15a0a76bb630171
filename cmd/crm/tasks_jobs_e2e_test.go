package main

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/notify"
	"github.com/crmprofi/crm/internal/task"
	"github.com/crmprofi/crm/internal/taskevents"
)

// taskWorld is a database with the test cast, and the task store that
// this test process writes with: the subscriber is registered on it with
// an enqueue-only job queue, so the jobs it schedules are worked only by
// the `crm serve` processes the test starts.
type taskWorld struct {
	db    *database.DB
	url   string
	cast  dbtest.Cast
	store *task.Store
	queue *jobs.Jobs
}

func newTaskWorld(t *testing.T, d database.Dialect) *taskWorld {
	t.Helper()
	ctx := context.Background()
	url := dbtest.URL(t, d)
	db, err := database.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	q, err := jobs.New(ctx, db, jobs.Options{NoPeriodic: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(ctx) })
	w := &taskWorld{db: db, url: url, cast: dbtest.NewCast(t, db), store: task.NewStore(db, time.UTC), queue: q}
	taskevents.Register(w.store, q, time.UTC)
	return w
}

// create has Борис give Алиса a task due at due.
func (w *taskWorld) create(t *testing.T, title string, due time.Time) task.Task {
	t.Helper()
	tk, err := w.store.Create(context.Background(), w.cast.Boris.Scope, task.Input{
		Title:      company.OptString{Set: true, Value: title},
		DueAt:      company.OptString{Set: true, Value: due.UTC().Format(time.RFC3339)},
		AssignedTo: task.OptAssignee{Set: true, Value: w.cast.Alisa.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// dueNotices counts Алиса's due-time notifications about the task (0:
// about any task).
func (w *taskWorld) dueNotices(t *testing.T, taskID int64) int {
	t.Helper()
	q := `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2`
	args := []any{w.cast.Alisa.ID, notify.KindTaskDue}
	if taskID != 0 {
		q += ` AND object_id = $3`
		args = append(args, taskID)
	}
	var n int
	if err := w.db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// dueJobStates counts the task.due jobs by state.
func (w *taskWorld) dueJobStates(t *testing.T) map[string]int {
	t.Helper()
	rows, err := w.db.QueryContext(context.Background(), `SELECT state, COUNT(*) FROM river_job WHERE kind = $1 GROUP BY state`, jobs.TaskDueArgs{}.Kind())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// eventually polls cond for up to a minute (River moves scheduled jobs
// to the queue every few seconds).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func needPostgres(t *testing.T) {
	t.Helper()
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip("needs PostgreSQL (set " + dbtest.EnvPostgres + ")")
	}
}

// Two `crm serve` on one PostgreSQL database: each task's due-time
// notification comes once, at its time.
func TestADueTaskNotifiesOnceWithTwoServers(t *testing.T) {
	needPostgres(t)
	w := newTaskWorld(t, database.Postgres)
	startCRM(t, w.url)
	startCRM(t, w.url)
	const n = 12
	due := time.Now().Add(3 * time.Second).Truncate(time.Second)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = w.create(t, "Созвон "+strconv.Itoa(i), due).ID
	}
	eventually(t, "every task's due notification came", func() bool { return w.dueNotices(t, 0) >= n })
	// A notification before the due time would be wrong; one per task.
	var early int
	err := w.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notifications WHERE kind = $1 AND created_at < $2`,
		notify.KindTaskDue, due).Scan(&early)
	if err != nil || early != 0 {
		t.Fatalf("%d notifications before the due time (%v)", early, err)
	}
	time.Sleep(2 * time.Second) // a second run would show by now
	for _, id := range ids {
		if got := w.dueNotices(t, id); got != 1 {
			t.Errorf("task %d: %d due notifications, want 1", id, got)
		}
	}
	if st := w.dueJobStates(t); st["completed"] != n {
		t.Errorf("due jobs by state: %v, want %d completed", st, n)
	}
	res, err := w.queue.Client().JobList(context.Background(), river.NewJobListParams().Kinds(jobs.TaskDueArgs{}.Kind()))
	if err != nil {
		t.Fatal(err)
	}
	byProcess := map[string]int{}
	for _, j := range res.Jobs {
		if len(j.AttemptedBy) != 1 {
			t.Errorf("job %d was attempted by %v", j.ID, j.AttemptedBy)
		}
		for _, by := range j.AttemptedBy {
			byProcess[by]++
		}
	}
	t.Logf("due jobs worked per process: %v", byProcess)
}

// A task falls due while no server runs: the first server to start
// notifies of it late, rather than never.
func TestADueJobMissedWhileNoServerRanIsWorkedAtStart(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			w := newTaskWorld(t, d)
			due := time.Now().Add(time.Second)
			tk := w.create(t, "Пока сервер лежал", due)
			time.Sleep(time.Until(due) + time.Second)
			if got := w.dueNotices(t, tk.ID); got != 0 {
				t.Fatalf("%d notifications with no server running", got)
			}
			startCRM(t, w.url)
			eventually(t, "the late notification came", func() bool { return w.dueNotices(t, tk.ID) == 1 })
		})
	}
}

// Rescheduling moves the notification: the old time passes silently,
// the new one notifies once.
func TestReschedulingMovesTheDueNotification(t *testing.T) {
	needPostgres(t)
	w := newTaskWorld(t, database.Postgres)
	startCRM(t, w.url)
	first := time.Now().Add(2 * time.Second).Truncate(time.Second)
	tk := w.create(t, "Перенести", first)
	later := first.Add(8 * time.Second)
	_, err := w.store.Update(context.Background(), w.cast.Boris.Scope, tk.ID, task.Input{
		DueAt: company.OptString{Set: true, Value: later.UTC().Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(first) + 5*time.Second)
	if got := w.dueNotices(t, tk.ID); got != 0 {
		t.Fatalf("%d notifications at the old time", got)
	}
	eventually(t, "the notification at the new time", func() bool { return w.dueNotices(t, tk.ID) == 1 })
	var key string
	err = w.db.QueryRowContext(context.Background(), `SELECT dedup_key FROM notifications WHERE kind = $1 AND object_id = $2`,
		notify.KindTaskDue, tk.ID).Scan(&key)
	if want := "task.due:" + itoa64(tk.ID) + ":" + itoa64(later.Unix()); err != nil || key != want {
		t.Fatalf("key %q (%v), want %q", key, err, want)
	}
	if st := w.dueJobStates(t); st["cancelled"] != 1 || st["completed"] != 1 {
		t.Errorf("due jobs by state: %v, want one cancelled and one completed", st)
	}
}

// Completing a task cancels its notification: its time passes silently.
func TestCompletingATaskCancelsItsDueNotification(t *testing.T) {
	needPostgres(t)
	w := newTaskWorld(t, database.Postgres)
	startCRM(t, w.url)
	due := time.Now().Add(2 * time.Second)
	tk := w.create(t, "Выполнить заранее", due)
	if _, _, err := w.store.Complete(context.Background(), w.cast.Alisa.Scope, tk.ID, "Сделано раньше срока", 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(due) + 7*time.Second)
	if got := w.dueNotices(t, tk.ID); got != 0 {
		t.Fatalf("%d notifications for a closed task", got)
	}
	if st := w.dueJobStates(t); st["cancelled"] != 1 || len(st) != 1 {
		t.Errorf("due jobs by state: %v, want one cancelled", st)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
