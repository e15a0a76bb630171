package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/notify"
)

// TaskDueArgs is a task's due-time notification («Срок задачи наступил»),
// scheduled (RunAt) when the task is created or rescheduled — at its due
// time, or at 09:00 of its day in the assignee's zone for an all-day
// task. The worker reads the task again and does nothing unless it is
// still open, still due at DueAt and still assigned to AssignedTo, so a
// job whose cancel was missed is harmless; the notification's key
// "task.due:<id>:<due unix>" makes it exactly once however often it runs.
type TaskDueArgs struct {
	TaskID     int64     `json:"task_id"`
	DueAt      time.Time `json:"due_at"`
	AllDay     bool      `json:"all_day"`
	AssignedTo int64     `json:"assigned_to"`
	// RunAt is when the job runs (not stored in its args).
	RunAt time.Time `json:"-"`
}

// Kind names the job kind in River's table.
func (TaskDueArgs) Kind() string { return "task.due" }

// InsertOpts schedules the job at RunAt.
func (a TaskDueArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{ScheduledAt: a.RunAt} }

// TaskReminderArgs is the reminder of a task someone else assigned that
// its assignee has not opened ReminderAfter later («Новая задача ждёт»).
// The worker does nothing if the task is closed, gone, seen or assigned
// to someone else since.
type TaskReminderArgs struct {
	TaskID     int64 `json:"task_id"`
	AssignedTo int64 `json:"assigned_to"`
	// RunAt is when the job runs (not stored in its args).
	RunAt time.Time `json:"-"`
}

// Kind names the job kind in River's table.
func (TaskReminderArgs) Kind() string { return "task.unseen_reminder" }

// InsertOpts schedules the job at RunAt.
func (a TaskReminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{ScheduledAt: a.RunAt}
}

// taskNow is what a task's timed jobs read of it when they run.
type taskNow struct {
	title      string
	status     string
	dueAt      time.Time
	allDay     bool
	assignedTo int64
	seen       bool
}

func (t taskNow) open() bool { return t.status == "new" || t.status == "in_progress" }

// readTask reads the task's current state in tx; found is false when it
// was deleted. A job reads the row itself rather than through the task
// store: it acts for no user, and needs these few columns only.
func readTask(ctx context.Context, tx *sql.Tx, id int64) (t taskNow, found bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT title, status, due_at, all_day, assigned_to, seen FROM tasks WHERE id = $1`, id).
		Scan(&t.title, &t.status, &t.dueAt, &t.allDay, &t.assignedTo, &t.seen)
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("task %d: %w", id, err)
	}
	return t, true, nil
}

// forgetTimer removes the task's record of this job, done now.
func forgetTimer(ctx context.Context, tx *sql.Tx, taskID int64, kind string, jobID int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM task_timers WHERE task_id = $1 AND kind = $2 AND job_id = $3`, taskID, kind, jobID)
	return err
}

func taskURL(id int64) string { return "/tasks/" + strconv.FormatInt(id, 10) + "/" }

type taskDueWorker struct {
	river.WorkerDefaults[TaskDueArgs]
	j *Jobs
}

func (w *taskDueWorker) Work(ctx context.Context, job *river.Job[TaskDueArgs]) error {
	a := job.Args
	return w.j.db.InTx(ctx, func(tx *sql.Tx) error {
		t, found, err := readTask(ctx, tx, a.TaskID)
		if err != nil {
			return err
		}
		current := found && t.open() && t.dueAt.Equal(a.DueAt) && t.allDay == a.AllDay && t.assignedTo == a.AssignedTo
		if current {
			_, _, err = notify.Add(ctx, tx, notify.Notification{Kind: notify.KindTaskDue, UserID: t.assignedTo,
				Title: "Срок задачи наступил: " + t.title, URL: taskURL(a.TaskID), ObjectType: "task", ObjectID: a.TaskID,
				Key: "task.due:" + strconv.FormatInt(a.TaskID, 10) + ":" + strconv.FormatInt(a.DueAt.Unix(), 10)})
			if err != nil {
				return err
			}
		}
		if err := forgetTimer(ctx, tx, a.TaskID, a.Kind(), job.ID); err != nil {
			return err
		}
		return completeTx(ctx, w.j.db, tx, job)
	})
}

type taskReminderWorker struct {
	river.WorkerDefaults[TaskReminderArgs]
	j *Jobs
}

func (w *taskReminderWorker) Work(ctx context.Context, job *river.Job[TaskReminderArgs]) error {
	a := job.Args
	return w.j.db.InTx(ctx, func(tx *sql.Tx) error {
		t, found, err := readTask(ctx, tx, a.TaskID)
		if err != nil {
			return err
		}
		if found && t.open() && !t.seen && t.assignedTo == a.AssignedTo {
			_, _, err = notify.Add(ctx, tx, notify.Notification{Kind: notify.KindTaskNew, UserID: t.assignedTo,
				Title: "Вы ещё не открыли новую задачу: " + t.title, URL: taskURL(a.TaskID), ObjectType: "task", ObjectID: a.TaskID,
				Key: "task.new:" + strconv.FormatInt(a.TaskID, 10) + ":" + strconv.FormatInt(a.AssignedTo, 10)})
			if err != nil {
				return err
			}
		}
		if err := forgetTimer(ctx, tx, a.TaskID, a.Kind(), job.ID); err != nil {
			return err
		}
		return completeTx(ctx, w.j.db, tx, job)
	})
}
