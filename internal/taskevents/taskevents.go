// Package taskevents turns task changes into what follows from them:
// notifications («Вам назначена задача», «Комментарий к задаче»), live
// events for the pages open on the task and on the desk, and the timed
// work of a task as River jobs — its due-time notification and the
// reminder of a new assignment not yet opened. Everything is written in
// the change's own transaction (task.Store.OnChange), so it happens if and
// only if the change commits.
package taskevents

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/internal/notify"
	"github.com/crmprofi/crm/internal/task"
)

// Queue is what the subscriber needs of the job queue (jobs.Jobs): add a
// job in the change's transaction, and cancel one in it.
type Queue interface {
	Enqueue(ctx context.Context, tx *sql.Tx, args river.JobArgs) (int64, error)
	Cancel(ctx context.Context, tx *sql.Tx, jobID int64) error
}

// Live event types the subscriber emits (the contract's «Live events»).
const (
	EventTask = "task" // data: TaskEvent
	EventDesk = "desk" // data: DeskEvent — the recipient's desk counts after the change
)

// TaskEvent is the data of a "task" live event.
type TaskEvent struct {
	ID     int64  `json:"id"`
	Change string `json:"change"` // "created", "updated" or "deleted"
}

// DeskEvent is the data of a "desk" live event: the recipient's desk
// counts as the change left them (the contract's {"counts"}), computed in
// the change's transaction and the recipient's time zone.
type DeskEvent struct {
	Counts task.Counts `json:"counts"`
}

// ReminderAfter is how long a task assigned by someone else may stay
// unopened before its assignee is reminded of it, once. Working hours are
// not modelled: a task assigned at 19:00 is reminded of at 21:00.
const ReminderAfter = 2 * time.Hour

// DueHour is the hour, in the assignee's time zone, at which an all-day
// task's due notification comes on its day.
const DueHour = 9

// Subscriber is registered on a task store with Register.
type Subscriber struct {
	store *task.Store
	queue Queue // nil: no timed work (tests, short-lived commands)
	def   *time.Location
	now   func() time.Time
}

// Register subscribes to store's changes. queue may be nil: notifications
// and live events still go out, timed work is not scheduled. def is the
// time zone of users without one (theirs or their branch's).
func Register(store *task.Store, queue Queue, def *time.Location) *Subscriber {
	s := &Subscriber{store: store, queue: queue, def: def, now: time.Now}
	store.OnChange(s.Handle)
	return s
}

// Handle is the hook: it is called inside the transaction of every task
// change.
func (s *Subscriber) Handle(ctx context.Context, tx *sql.Tx, c task.Change) error {
	t := c.After
	if t == nil {
		t = c.Before
	}
	if t == nil {
		return nil
	}
	if err := s.notifications(ctx, tx, c, t); err != nil {
		return err
	}
	if err := s.liveEvents(ctx, tx, c, t); err != nil {
		return err
	}
	if s.queue == nil {
		return nil
	}
	return s.timers(ctx, tx, c)
}

// notifications: a new assignee hears of the task (not the old one, nor
// anyone of their own action); the assignee and the author hear of a
// comment, the commenter excepted.
func (s *Subscriber) notifications(ctx context.Context, tx *sql.Tx, c task.Change, t *task.Task) error {
	actor := c.Actor.UserID
	switch c.Kind {
	case task.Created, task.Updated:
		if c.After == nil || !c.After.Status.Open() {
			return nil
		}
		if !newAssignment(c) {
			return nil
		}
		return add(ctx, tx, notify.Notification{Kind: notify.KindTaskAssigned, UserID: t.AssignedTo, ActorID: actor,
			Title: "Вам назначена задача: " + t.Title, Body: assignedBody(c.Actor.Name), URL: taskURL(t.ID),
			ObjectType: "task", ObjectID: t.ID})
	case task.Commented:
		if c.Comment == nil {
			return nil
		}
		for _, to := range people(t) {
			if to == actor {
				continue
			}
			err := add(ctx, tx, notify.Notification{Kind: notify.KindTaskComment, UserID: to, ActorID: actor,
				Title: "Комментарий к задаче: " + t.Title, Body: commentBody(c.Actor.Name, c.Comment.Text),
				URL: taskURL(t.ID), ObjectType: "task", ObjectID: t.ID,
				Key: "task.comment:" + strconv.FormatInt(c.Comment.ID, 10)})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// newAssignment reports whether the change gives the task to someone:
// a new task, or another assignee. The next occurrence of a series that
// completing one creates is not one — its assignee has the series already.
func newAssignment(c task.Change) bool {
	switch {
	case c.After == nil:
		return false
	case c.Before == nil:
		return c.Kind == task.Created && c.After.Occurrence <= 1
	}
	return c.Before.AssignedTo != c.After.AssignedTo
}

func add(ctx context.Context, tx *sql.Tx, n notify.Notification) error {
	_, _, err := notify.Add(ctx, tx, n)
	return err
}

func assignedBody(by string) string {
	if by == "" {
		return ""
	}
	return "Назначил(а): " + by
}

func commentBody(by, text string) string {
	if by == "" {
		return text
	}
	return by + ": " + text
}

// taskURL is the task's page.
func taskURL(id int64) string { return "/tasks/" + strconv.FormatInt(id, 10) + "/" }

// people are the task's assignee and author, each once: they may always
// see it, so they may always hear of it.
func people(t *task.Task) []int64 {
	out := []int64{t.AssignedTo}
	if t.CreatedBy != nil && *t.CreatedBy != t.AssignedTo && *t.CreatedBy != 0 {
		out = append(out, *t.CreatedBy)
	}
	return out
}

// liveEvents: "task" to the assignee and the author of every change; "desk"
// with the new counts to each assignee whose desk may have changed — the
// new one and, on a reassignment, the old one, who gets only the counts
// (they may no longer see the task, so they hear nothing about it).
func (s *Subscriber) liveEvents(ctx context.Context, tx *sql.Tx, c task.Change, t *task.Task) error {
	change := "updated"
	switch c.Kind {
	case task.Created:
		change = "created"
	case task.Deleted:
		change = "deleted"
	}
	for _, to := range people(t) {
		if _, err := live.Emit(ctx, tx, to, EventTask, TaskEvent{ID: t.ID, Change: change}); err != nil {
			return err
		}
	}
	if c.Kind == task.Commented {
		return nil // a comment moves nothing on the desk
	}
	desks := []int64{t.AssignedTo}
	if c.Before != nil && c.After != nil && c.Before.AssignedTo != c.After.AssignedTo {
		desks = append(desks, c.Before.AssignedTo)
	}
	for _, to := range desks {
		loc, err := task.UserLocation(ctx, tx, to, s.def)
		if err != nil {
			return err
		}
		counts, err := s.store.WithTx(tx).DeskCounts(ctx, access.System("live:desk"), to, s.now(), loc)
		if err != nil {
			return err
		}
		if _, err := live.Emit(ctx, tx, to, EventDesk, DeskEvent{Counts: counts}); err != nil {
			return err
		}
	}
	return nil
}

// timers keeps a task's jobs in step with it: the due-time notification
// is (re)scheduled when the task is created or its time, assignee or
// status changes, and cancelled when it is closed or deleted; the
// new-assignment reminder is scheduled when someone else assigns the task
// and cancelled once it is opened, closed, deleted or assigned again.
func (s *Subscriber) timers(ctx context.Context, tx *sql.Tx, c task.Change) error {
	b, a := c.Before, c.After
	open := a != nil && a.Status.Open()
	switch c.Kind {
	case task.Commented:
		return nil
	case task.Seen:
		return s.cancel(ctx, tx, a.ID, jobs.TaskReminderArgs{}.Kind())
	}
	var id int64
	if a != nil {
		id = a.ID
	} else {
		id = b.ID
	}
	// The due-time notification.
	dueMoved := b == nil || a == nil || !b.DueAt.Equal(a.DueAt) || b.AllDay != a.AllDay ||
		b.AssignedTo != a.AssignedTo || b.Status.Open() != a.Status.Open()
	if dueMoved {
		if err := s.cancel(ctx, tx, id, jobs.TaskDueArgs{}.Kind()); err != nil {
			return err
		}
		if open {
			if err := s.scheduleDue(ctx, tx, a); err != nil {
				return err
			}
		}
	}
	// The new-assignment reminder.
	reassigned := b == nil || a == nil || b.AssignedTo != a.AssignedTo
	if reassigned || !open {
		if err := s.cancel(ctx, tx, id, jobs.TaskReminderArgs{}.Kind()); err != nil {
			return err
		}
	}
	if open && newAssignment(c) && !a.Seen && a.AssignedTo != c.Actor.UserID {
		args := jobs.TaskReminderArgs{TaskID: a.ID, AssignedTo: a.AssignedTo, RunAt: s.now().Add(ReminderAfter)}
		if err := s.schedule(ctx, tx, a.ID, args); err != nil {
			return err
		}
	}
	return nil
}

// scheduleDue schedules t's due-time notification: at its due time, or
// for an all-day task at DueHour on its day in the assignee's zone. A
// time already past is not scheduled — the task is overdue from the
// start and the desk says so.
func (s *Subscriber) scheduleDue(ctx context.Context, tx *sql.Tx, t *task.Task) error {
	at := t.DueAt
	if t.AllDay {
		loc, err := task.UserLocation(ctx, tx, t.AssignedTo, s.def)
		if err != nil {
			return err
		}
		y, m, d := t.DueAt.UTC().Date()
		at = time.Date(y, m, d, DueHour, 0, 0, 0, loc)
	}
	if at.Before(s.now().Add(-time.Minute)) {
		return nil
	}
	args := jobs.TaskDueArgs{TaskID: t.ID, DueAt: t.DueAt.UTC(), AllDay: t.AllDay, AssignedTo: t.AssignedTo, RunAt: at}
	return s.schedule(ctx, tx, t.ID, args)
}

// schedule enqueues args (for the time they carry) and remembers the job as the task's job
// of its kind, so that a later change can cancel it.
func (s *Subscriber) schedule(ctx context.Context, tx *sql.Tx, taskID int64, args river.JobArgs) error {
	id, err := s.queue.Enqueue(ctx, tx, args)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO task_timers (task_id, kind, job_id) VALUES ($1, $2, $3)
		ON CONFLICT (task_id, kind) DO UPDATE SET job_id = excluded.job_id`, taskID, args.Kind(), id)
	if err != nil {
		return fmt.Errorf("task timer: %w", err)
	}
	return nil
}

// cancel cancels the task's job of kind, if it has one.
func (s *Subscriber) cancel(ctx context.Context, tx *sql.Tx, taskID int64, kind string) error {
	var jobID int64
	err := tx.QueryRowContext(ctx, `DELETE FROM task_timers WHERE task_id = $1 AND kind = $2 RETURNING job_id`,
		taskID, kind).Scan(&jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("task timer: %w", err)
	}
	return s.queue.Cancel(ctx, tx, jobID)
}

// rezoneSince is how far back an all-day task's day may lie and its due
// notification still be ahead in some zone: nine in the morning of a day
// is at most a day and a half from its midnight in UTC.
const rezoneSince = 48 * time.Hour

// RezoneUser moves the due notifications of user's open all-day tasks to
// nine in the zone the user lives in now. The user and admin stores call
// it (auth.Store.OnZoneChange) in the transaction that changes the user's
// own zone or branch; a timed task keeps its instant and is not touched.
func (s *Subscriber) RezoneUser(ctx context.Context, tx *sql.Tx, userID int64) error {
	return s.rezone(ctx, tx, `t.assigned_to = $2`, userID)
}

// RezoneBranch does what RezoneUser does for every user of branch who has
// no zone of their own — they live in the branch's. The dictionary store
// calls it (dictionary.Store.OnBranchZoneChange) in the transaction that
// changes the branch's zone.
func (s *Subscriber) RezoneBranch(ctx context.Context, tx *sql.Tx, branchID int64) error {
	return s.rezone(ctx, tx, `t.assigned_to IN (SELECT u.id FROM users u WHERE u.branch_id = $2 AND u.time_zone = '')`, branchID)
}

// rezone re-schedules the due jobs of the open all-day tasks whose
// assignee matches cond ($2 is arg), from the day before yesterday on:
// an earlier day's nine o'clock is past in every zone.
func (s *Subscriber) rezone(ctx context.Context, tx *sql.Tx, cond string, arg any) error {
	if s.queue == nil {
		return nil
	}
	list, err := s.rezoned(ctx, tx, cond, arg)
	if err != nil {
		return err
	}
	for i := range list {
		if err := s.cancel(ctx, tx, list[i].ID, jobs.TaskDueArgs{}.Kind()); err != nil {
			return err
		}
		if err := s.scheduleDue(ctx, tx, &list[i]); err != nil {
			return err
		}
	}
	return nil
}

// rezoned reads the tasks rezone moves, all of them before any is moved:
// a transaction runs one statement at a time.
func (s *Subscriber) rezoned(ctx context.Context, tx *sql.Tx, cond string, arg any) ([]task.Task, error) {
	//nolint:gosec // cond is one of the two constants of RezoneUser and RezoneBranch
	rows, err := tx.QueryContext(ctx, `SELECT t.id, t.due_at, t.assigned_to FROM tasks t
		WHERE t.all_day AND t.due_at >= $1 AND `+task.OpenSQL("t")+` AND `+cond+` ORDER BY t.id`,
		s.now().Add(-rezoneSince).UTC().Truncate(time.Microsecond), arg)
	if err != nil {
		return nil, fmt.Errorf("rezone tasks: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var list []task.Task
	for rows.Next() {
		t := task.Task{AllDay: true}
		if err := rows.Scan(&t.ID, &t.DueAt, &t.AssignedTo); err != nil {
			return nil, fmt.Errorf("rezone tasks: %w", err)
		}
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rezone tasks: %w", err)
	}
	return list, nil
}
