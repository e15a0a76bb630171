package taskevents_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/task"
	"github.com/crmprofi/crm/internal/taskevents"
)

func str(v string) company.OptString { return company.OptString{Set: true, Value: v} }
func who(v int64) task.OptAssignee   { return task.OptAssignee{Set: true, Value: v} }

// world is the cast, a task store with the subscriber registered on it,
// and an enqueue-only job queue (never started: jobs are only looked at).
type world struct {
	db    *database.DB
	cast  dbtest.Cast
	store *task.Store
	queue *jobs.Jobs
	sub   *taskevents.Subscriber
}

func newWorld(t *testing.T, db *database.DB, withJobs bool) *world {
	t.Helper()
	w := &world{db: db, cast: dbtest.NewCast(t, db), store: task.NewStore(db, time.UTC)}
	var q taskevents.Queue
	if withJobs {
		j, err := jobs.New(context.Background(), db, jobs.Options{NoPeriodic: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = j.Stop(context.Background()) })
		w.queue, q = j, j
	}
	w.sub = taskevents.Register(w.store, q, time.UTC)
	return w
}

func (w *world) create(t *testing.T, sc access.Scope, in task.Input) task.Task {
	t.Helper()
	tk, err := w.store.Create(context.Background(), sc, in)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (w *world) update(t *testing.T, sc access.Scope, id int64, in task.Input) task.Task {
	t.Helper()
	tk, err := w.store.Update(context.Background(), sc, id, in)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// notices lists the titles of a user's notifications, oldest first.
func (w *world) notices(t *testing.T, userID int64) []string {
	t.Helper()
	rows, err := w.db.QueryContext(context.Background(), `SELECT title FROM notifications WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// events lists a user's live events of one type as their data.
func (w *world) events(t *testing.T, userID int64, typ string) []string {
	t.Helper()
	rows, err := w.db.QueryContext(context.Background(), `SELECT data FROM live_events WHERE user_id = $1 AND type = $2 ORDER BY id`, userID, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// job is a task's River job of a kind, as River keeps it.
type job struct {
	id          int64
	state       string
	scheduledAt time.Time
}

// jobs lists the River jobs of kind for the task, oldest first.
func (w *world) jobs(t *testing.T, kind string, taskID int64) []job {
	t.Helper()
	res, err := w.queue.Client().JobList(context.Background(), river.NewJobListParams().Kinds(kind).First(10000))
	if err != nil {
		t.Fatal(err)
	}
	var out []job
	for _, r := range res.Jobs {
		var a struct {
			TaskID int64 `json:"task_id"`
		}
		if err := json.Unmarshal(r.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if a.TaskID == taskID {
			out = append(out, job{id: r.ID, state: string(r.State), scheduledAt: r.ScheduledAt})
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// company adds a company of branch A that Алиса is responsible for: a
// task on it is visible to the admin too.
func (w *world) company(t *testing.T) company.OptID {
	t.Helper()
	now := database.Now()
	var id int64
	err := w.db.QueryRowContext(context.Background(), `INSERT INTO companies (name, name_norm, branch_id, responsible_id, created_by, created_at, updated_at)
		VALUES ('Альфа', 'альфа', $1, $2, $2, $3, $3) RETURNING id`, w.cast.BranchA, w.cast.Alisa.ID, now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return company.OptID{Set: true, Value: id}
}

func TestAssignmentsNotifyTheNewAssigneeOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db, false)
		c := w.cast
		tk := w.create(t, c.Boris.Scope, task.Input{Title: str("Позвонить в Альфу"), DueAt: str("2030-01-10T10:00:00+03:00"),
			AssignedTo: who(c.Alisa.ID), Company: w.company(t)})
		t.Run("a task someone else assigns notifies its assignee", func(t *testing.T) {
			if got := w.notices(t, c.Alisa.ID); len(got) != 1 || got[0] != "Вам назначена задача: Позвонить в Альфу" {
				t.Fatalf("Алиса's notifications: %q", got)
			}
		})
		t.Run("one's own actions notify no one", func(t *testing.T) {
			w.create(t, c.Alisa.Scope, task.Input{Title: str("Себе"), DueAt: str("2030-01-10")})
			if got := w.notices(t, c.Boris.ID); len(got) != 0 {
				t.Fatalf("Борис: %q", got)
			}
			if got := w.notices(t, c.Alisa.ID); len(got) != 1 {
				t.Fatalf("Алиса got a notification of her own task: %q", got)
			}
		})
		t.Run("an edit that keeps the assignee notifies no one", func(t *testing.T) {
			w.update(t, c.Boris.Scope, tk.ID, task.Input{Title: str("Позвонить в Альфу до обеда")})
			if got := w.notices(t, c.Alisa.ID); len(got) != 1 {
				t.Fatalf("Алиса: %q", got)
			}
		})
		t.Run("a reassignment notifies the new assignee and not the old one", func(t *testing.T) {
			w.update(t, c.Admin.Scope, tk.ID, task.Input{AssignedTo: who(c.Boris.ID)})
			if got := w.notices(t, c.Boris.ID); len(got) != 1 || got[0] != "Вам назначена задача: Позвонить в Альфу до обеда" {
				t.Fatalf("Борис: %q", got)
			}
			if got := w.notices(t, c.Alisa.ID); len(got) != 1 {
				t.Fatalf("Алиса heard of losing the task: %q", got)
			}
		})
	})
}

func TestEveryChangeReachesTheAssigneeAndTheAuthorLive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db, false)
		c := w.cast
		tk := w.create(t, c.Boris.Scope, task.Input{Title: str("Живое"), DueAt: str("2030-01-10T10:00:00Z"), AssignedTo: who(c.Alisa.ID),
			Company: w.company(t)})
		w.update(t, c.Boris.Scope, tk.ID, task.Input{DueAt: str("2030-01-11T10:00:00Z")})
		w.update(t, c.Admin.Scope, tk.ID, task.Input{AssignedTo: who(c.Boris.ID)})
		if _, err := w.store.Delete(context.Background(), c.Admin.Scope, tk.ID); err != nil {
			t.Fatal(err)
		}
		id := itoa(tk.ID)
		t.Run("the author sees created, updated and deleted", func(t *testing.T) {
			want := []string{`{"id":` + id + `,"change":"created"}`, `{"id":` + id + `,"change":"updated"}`,
				`{"id":` + id + `,"change":"updated"}`, `{"id":` + id + `,"change":"deleted"}`}
			if got := w.events(t, c.Boris.ID, taskevents.EventTask); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("Борис: %q", got)
			}
		})
		t.Run("the old assignee hears of the task until it leaves them", func(t *testing.T) {
			if got := w.events(t, c.Alisa.ID, taskevents.EventTask); len(got) != 2 {
				t.Fatalf("Алиса: %q", got)
			}
		})
		t.Run("the desks that may have changed get their new counts", func(t *testing.T) {
			// Алиса: created, rescheduled (a new assignment of Борис's she
			// has not opened, due in 2030), taken away.
			fresh := `{"counts":{"overdue":0,"today":0,"week":0,"new_assignments":1}}`
			none := `{"counts":{"overdue":0,"today":0,"week":0,"new_assignments":0}}`
			want := []string{fresh, fresh, none}
			if got := w.events(t, c.Alisa.ID, taskevents.EventDesk); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("Алиса's desk events: %q", got)
			}
			// Борис: given the task, and it was deleted.
			if got := w.events(t, c.Boris.ID, taskevents.EventDesk); len(got) != 2 {
				t.Fatalf("Борис's desk events: %q", got)
			}
		})
		t.Run("no one else hears anything", func(t *testing.T) {
			for _, m := range []dbtest.Member{c.Vera, c.Gleb, c.Darya} {
				if got := w.events(t, m.ID, taskevents.EventTask); len(got) != 0 {
					t.Errorf("%s: %q", m.FirstName, got)
				}
			}
		})
	})
}

func TestTimedWorkFollowsTheTask(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db, true)
		c := w.cast
		due := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
		tk := w.create(t, c.Boris.Scope, task.Input{Title: str("По сроку"), DueAt: str(due.Format(time.RFC3339)), AssignedTo: who(c.Alisa.ID)})
		t.Run("a new task's due notification is scheduled at its due time", func(t *testing.T) {
			js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), tk.ID)
			if len(js) != 1 || js[0].state != "scheduled" || !js[0].scheduledAt.Equal(due) {
				t.Fatalf("due jobs %+v, want one scheduled at %v", js, due)
			}
		})
		t.Run("someone else's assignment schedules one reminder two hours on", func(t *testing.T) {
			js := w.jobs(t, jobs.TaskReminderArgs{}.Kind(), tk.ID)
			if len(js) != 1 || js[0].state != "scheduled" {
				t.Fatalf("reminders %+v", js)
			}
			if d := time.Until(js[0].scheduledAt); d < taskevents.ReminderAfter-time.Minute || d > taskevents.ReminderAfter {
				t.Fatalf("the reminder is due in %v", d)
			}
			own := w.create(t, c.Alisa.Scope, task.Input{Title: str("Своя"), DueAt: str(due.Format(time.RFC3339))})
			if js := w.jobs(t, jobs.TaskReminderArgs{}.Kind(), own.ID); len(js) != 0 {
				t.Fatalf("one's own task got a reminder: %+v", js)
			}
		})
		t.Run("rescheduling cancels the old job and schedules a new one", func(t *testing.T) {
			later := due.Add(3 * time.Hour)
			w.update(t, c.Boris.Scope, tk.ID, task.Input{DueAt: str(later.Format(time.RFC3339))})
			js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), tk.ID)
			if len(js) != 2 || js[0].state != "cancelled" || js[1].state != "scheduled" || !js[1].scheduledAt.Equal(later) {
				t.Fatalf("due jobs %+v", js)
			}
		})
		t.Run("an edit that keeps the time leaves the job alone", func(t *testing.T) {
			w.update(t, c.Boris.Scope, tk.ID, task.Input{Title: str("По сроку, правка")})
			if js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), tk.ID); len(js) != 2 {
				t.Fatalf("due jobs %+v", js)
			}
		})
		t.Run("closing the task cancels its jobs", func(t *testing.T) {
			w.update(t, c.Boris.Scope, tk.ID, task.Input{Status: str("cancelled")})
			for _, kind := range []string{jobs.TaskDueArgs{}.Kind(), jobs.TaskReminderArgs{}.Kind()} {
				for _, j := range w.jobs(t, kind, tk.ID) {
					if j.state != "cancelled" {
						t.Errorf("%s job %d is %s", kind, j.id, j.state)
					}
				}
			}
		})
		t.Run("a task already overdue when made gets no due job", func(t *testing.T) {
			old := w.create(t, c.Alisa.Scope, task.Input{Title: str("Вчерашняя"), DueAt: str(time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339))})
			if js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), old.ID); len(js) != 0 {
				t.Fatalf("due jobs %+v", js)
			}
		})
		t.Run("deleting the task cancels its jobs", func(t *testing.T) {
			gone := w.create(t, c.Boris.Scope, task.Input{Title: str("Удалить"), DueAt: str(due.Format(time.RFC3339)), AssignedTo: who(c.Alisa.ID)})
			if _, err := w.store.Delete(context.Background(), c.Boris.Scope, gone.ID); err != nil {
				t.Fatal(err)
			}
			for _, kind := range []string{jobs.TaskDueArgs{}.Kind(), jobs.TaskReminderArgs{}.Kind()} {
				js := w.jobs(t, kind, gone.ID)
				if len(js) != 1 || js[0].state != "cancelled" {
					t.Errorf("%s jobs %+v", kind, js)
				}
			}
		})
		t.Run("an all-day task is due at nine in the assignee's zone", func(t *testing.T) {
			day := time.Now().AddDate(0, 0, 5).Format("2006-01-02")
			allDay := w.create(t, c.Vera.Scope, task.Input{Title: str("Весь день"), DueAt: str(day)})
			// (SQLite may give the id of the task deleted above again: its
			// job is the cancelled one.)
			js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), allDay.ID)
			if len(js) == 0 {
				t.Fatal("no due job")
			}
			js = js[len(js)-1:]
			// Вера's branch is in Novosibirsk (UTC+7): 09:00 there is 02:00 UTC.
			if js[0].state != "scheduled" || js[0].scheduledAt.UTC().Format("2006-01-02 15:04") != day+" 02:00" {
				t.Fatalf("due jobs %+v, want one at %s 02:00 UTC", js, day)
			}
		})
	})
}

func TestCommentsNotifyTheAssigneeAndTheAuthorButNotTheCommenter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db, false)
		c := w.cast
		ctx := context.Background()
		tk := w.create(t, c.Boris.Scope, task.Input{Title: str("Обсудить"), DueAt: str("2030-01-10T10:00:00Z"),
			AssignedTo: who(c.Alisa.ID), Company: w.company(t)})
		if _, err := w.store.AddComment(ctx, c.Alisa.Scope, tk.ID, "Готово наполовину"); err != nil {
			t.Fatal(err)
		}
		t.Run("the assignee's comment reaches the author", func(t *testing.T) {
			if got := w.notices(t, c.Boris.ID); len(got) != 1 || got[0] != "Комментарий к задаче: Обсудить" {
				t.Fatalf("Борис: %q", got)
			}
			if got := w.notices(t, c.Alisa.ID); len(got) != 1 { // only the assignment
				t.Fatalf("Алиса: %q", got)
			}
		})
		t.Run("a third person's comment reaches both", func(t *testing.T) {
			if _, err := w.store.AddComment(ctx, c.Admin.Scope, tk.ID, "Как дела?"); err != nil {
				t.Fatal(err)
			}
			if got := w.notices(t, c.Boris.ID); len(got) != 2 {
				t.Fatalf("Борис: %q", got)
			}
			if got := w.notices(t, c.Alisa.ID); len(got) != 2 || got[1] != "Комментарий к задаче: Обсудить" {
				t.Fatalf("Алиса: %q", got)
			}
			if got := w.notices(t, c.Admin.ID); len(got) != 0 {
				t.Fatalf("the commenter: %q", got)
			}
		})
		t.Run("a comment is a task event, not a desk event", func(t *testing.T) {
			if got := w.events(t, c.Boris.ID, taskevents.EventDesk); len(got) != 0 {
				t.Fatalf("Борис's desk events: %q", got)
			}
		})
	})
}

func TestOpeningCompletingAndRecurringTasksKeepTheirJobsRight(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db, true)
		c := w.cast
		ctx := context.Background()
		due := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
		t.Run("opening a new assignment cancels its reminder", func(t *testing.T) {
			tk := w.create(t, c.Boris.Scope, task.Input{Title: str("Открыть"), DueAt: str(due.Format(time.RFC3339)), AssignedTo: who(c.Alisa.ID)})
			if _, err := w.store.Get(ctx, c.Alisa.Scope, tk.ID); err != nil {
				t.Fatal(err)
			}
			js := w.jobs(t, jobs.TaskReminderArgs{}.Kind(), tk.ID)
			if len(js) != 1 || js[0].state != "cancelled" {
				t.Fatalf("reminders %+v", js)
			}
			if js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), tk.ID); len(js) != 1 || js[0].state != "scheduled" {
				t.Fatalf("opening touched the due job: %+v", js)
			}
		})
		t.Run("completing cancels the due job, and the next occurrence gets its own without a new notification", func(t *testing.T) {
			tk := w.create(t, c.Boris.Scope, task.Input{Title: str("Еженедельно"), DueAt: str(due.Format(time.RFC3339)),
				AssignedTo: who(c.Alisa.ID), Rule: str("FREQ=WEEKLY;COUNT=3")})
			before := len(w.notices(t, c.Alisa.ID))
			_, next, err := w.store.Complete(ctx, c.Alisa.Scope, tk.ID, "Сделано", 0)
			if err != nil {
				t.Fatal(err)
			}
			if next == nil {
				t.Fatal("no next occurrence")
			}
			if js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), tk.ID); len(js) != 1 || js[0].state != "cancelled" {
				t.Fatalf("the completed task's due jobs: %+v", js)
			}
			js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), next.ID)
			if len(js) != 1 || js[0].state != "scheduled" || !js[0].scheduledAt.Equal(next.DueAt) {
				t.Fatalf("the next occurrence's due jobs: %+v (due %v)", js, next.DueAt)
			}
			if got := w.notices(t, c.Alisa.ID); len(got) != before {
				t.Fatalf("the next occurrence notified Алиса: %q", got[before:])
			}
		})
	})
}

func TestAllDayDueJobsFollowTheAssigneesZone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db, true)
		c := w.cast
		ctx := context.Background()
		users, dicts := auth.NewStore(db), dictionary.NewStore(db)
		users.OnZoneChange(w.sub.RezoneUser)
		dicts.OnBranchZoneChange(w.sub.RezoneBranch)
		day := time.Now().AddDate(0, 0, 5).Format("2006-01-02")
		at := func(hhmm string) time.Time {
			v, err := time.Parse("2006-01-02 15:04", day+" "+hhmm)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		// due checks the task's due jobs: every one but the last cancelled,
		// the last scheduled at want (UTC), n in all.
		due := func(t *testing.T, id int64, n int, want time.Time) {
			t.Helper()
			js := w.jobs(t, jobs.TaskDueArgs{}.Kind(), id)
			if len(js) != n {
				t.Fatalf("%d due jobs %+v, want %d", len(js), js, n)
			}
			for _, j := range js[:n-1] {
				if j.state != "cancelled" {
					t.Fatalf("an old due job is %s: %+v", j.state, js)
				}
			}
			if last := js[n-1]; last.state != "scheduled" || !last.scheduledAt.Equal(want) {
				t.Fatalf("due jobs %+v, want the last scheduled at %v", js, want)
			}
		}
		alisa := w.create(t, c.Alisa.Scope, task.Input{Title: str("Весь день, Алиса"), DueAt: str(day)})
		boris := w.create(t, c.Boris.Scope, task.Input{Title: str("Весь день, Борис"), DueAt: str(day)})
		vera := w.create(t, c.Vera.Scope, task.Input{Title: str("Весь день, Вера"), DueAt: str(day)})
		timed := at("12:30")
		fixed := w.create(t, c.Alisa.Scope, task.Input{Title: str("К сроку"), DueAt: str(timed.Format(time.RFC3339))})
		closed := w.create(t, c.Alisa.Scope, task.Input{Title: str("Отменённая"), DueAt: str(day)})
		w.update(t, c.Alisa.Scope, closed.ID, task.Input{Status: str("cancelled")})

		t.Run("an all-day task is due at nine in the branch's zone of a user without one", func(t *testing.T) {
			due(t, alisa.ID, 1, at("06:00")) // Moscow, UTC+3
			due(t, vera.ID, 1, at("02:00"))  // Novosibirsk, UTC+7
		})
		t.Run("a user's own new zone moves their all-day due jobs, Moscow to Yekaterinburg by two hours back", func(t *testing.T) {
			tz := "Asia/Yekaterinburg"
			if _, _, err := users.UpdateProfile(ctx, c.Alisa.ID, auth.ProfileInput{TimeZone: &tz}); err != nil {
				t.Fatal(err)
			}
			due(t, alisa.ID, 2, at("04:00"))
		})
		t.Run("a timed task keeps its instant and a closed one stays without a job", func(t *testing.T) {
			due(t, fixed.ID, 1, timed)
			for _, j := range w.jobs(t, jobs.TaskDueArgs{}.Kind(), closed.ID) {
				if j.state != "cancelled" {
					t.Fatalf("the closed task has a %s due job", j.state)
				}
			}
		})
		t.Run("an admin's change of a user's zone moves them too", func(t *testing.T) {
			tz := "Europe/Moscow"
			if _, err := users.Update(ctx, c.Admin.Scope, c.Vera.ID, auth.UserInput{TimeZone: &tz}); err != nil {
				t.Fatal(err)
			}
			due(t, vera.ID, 2, at("06:00"))
		})
		t.Run("a branch's new zone moves its users without their own zone only", func(t *testing.T) {
			tz := "Asia/Novosibirsk"
			if _, err := dicts.Update(ctx, c.Admin.Scope, dictionary.Branches, c.BranchA, dictionary.Input{TimeZone: &tz}); err != nil {
				t.Fatal(err)
			}
			due(t, boris.ID, 2, at("02:00"))
			due(t, alisa.ID, 2, at("04:00")) // her own zone, Yekaterinburg, holds
		})
		t.Run("a change that fails moves nothing", func(t *testing.T) {
			tz := "Марс/Олимп"
			if _, _, err := users.UpdateProfile(ctx, c.Boris.ID, auth.ProfileInput{TimeZone: &tz}); err == nil {
				t.Fatal("a bad zone was saved")
			}
			due(t, boris.ID, 2, at("02:00"))
		})
	})
}
