package task

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
)

// stateOf is t's state for a viewer in loc at now.
func stateOf(t *Task, now time.Time, loc *time.Location) string {
	if !t.Status.Open() {
		return string(t.Status)
	}
	return string(StateAt(t.DueAt, t.AllDay, now, loc))
}

// ruleText is the Russian description of a stored rule ("" for none).
func ruleText(rule string) string {
	if rule == "" {
		return ""
	}
	r, err := ParseRule(rule)
	if err != nil {
		return rule
	}
	return r.Describe()
}

// checkRule parses a rule from the client and returns it in canonical
// form; a bad rule is a field error naming the bad part.
func checkRule(rule string) (string, error) {
	r, err := ParseRule(rule)
	if err != nil {
		return rule, err
	}
	return r.String(), nil
}

// Complete marks a task done with its result and, for a recurring task,
// creates the next occurrence: the rule's first date after the later of
// now and this task's due time (a late completion skips the missed
// dates), computed from the series' start in the assignee's time zone.
// COUNT and UNTIL end the series: then next is nil.
//
// Exactly once: the task is closed by UPDATE … WHERE status is open and
// version is the one read, so of several requests completing it at once
// one succeeds and the others get a Conflict («Задача уже выполнена»),
// on PostgreSQL (the row lock makes the second UPDATE see the first's
// result) and SQLite (writes are serialised) alike; (series_id,
// occurrence) is unique and the next occurrence is inserted with ON
// CONFLICT DO NOTHING, so even a task reopened and completed again never
// makes a second one. version 0 skips the version check.
func (s *Store) Complete(ctx context.Context, sc access.Scope, id int64, result string, version int) (Task, *Task, error) {
	var done Task
	var next *Task
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		done, next, err = s.close(ctx, tx, sc, id, StatusDone, result, version)
		return err
	})
	return done, next, err
}

// Skip cancels this occurrence of a recurring task and creates the next
// one, as Complete does.
func (s *Store) Skip(ctx context.Context, sc access.Scope, id int64, version int) (Task, *Task, error) {
	var done Task
	var next *Task
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.get(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if !cur.Recurring() {
			return &apperr.Conflict{Message: "Задача не повторяется: пропускать нечего"}
		}
		done, next, err = s.close(ctx, tx, sc, id, StatusCancelled, "", version)
		return err
	})
	return done, next, err
}

// StopSeries clears the rule of this task: no next occurrence follows it.
// The tasks of the series before it stay as they are.
func (s *Store) StopSeries(ctx context.Context, sc access.Scope, id int64, version int) (Task, error) {
	return s.Update(ctx, sc, id, Input{Rule: company.OptString{Set: true}, Version: company.OptVersion{Set: version > 0, Value: version}})
}

func (s *Store) close(ctx context.Context, tx *sql.Tx, sc access.Scope, id int64, status Status, result string, version int) (Task, *Task, error) {
	cur, err := s.forWrite(ctx, tx, sc, id, access.TaskEdit, version)
	if err != nil {
		return Task{}, nil, err
	}
	if !cur.Status.Open() {
		return Task{}, nil, &apperr.Conflict{Message: "Задача уже " + strings.ToLower(cur.Status.Label())}
	}
	result = strings.TrimSpace(result)
	if status != StatusDone {
		result = cur.Result
	}
	if len([]rune(result)) > MaxResult {
		return Task{}, nil, apperr.Invalid{"result": "Результат — не длиннее " + strconv.Itoa(MaxResult) + " символов"}
	}
	now := s.now()
	var completedAt any
	if status == StatusDone {
		completedAt = now
	}
	res, err := tx.ExecContext(ctx, `UPDATE tasks SET status = $1, result = $2, completed_at = $3, updated_at = $4, version = version + 1
		WHERE id = $5 AND version = $6 AND status IN ('new', 'in_progress')`, string(status), result, completedAt, now, id, cur.Version)
	if err != nil {
		return Task{}, nil, fmt.Errorf("close task %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return Task{}, nil, &apperr.Conflict{Message: "Задачу уже закрыли или изменили. Обновите страницу."}
	}
	changes := [][3]string{{"status", cur.Status.Label(), status.Label()}}
	if result != cur.Result {
		changes = append(changes, [3]string{"result", cur.Result, result})
	}
	if err := s.history(ctx, tx, sc, id, now, changes); err != nil {
		return Task{}, nil, err
	}
	action := "task.complete"
	if status != StatusDone {
		action = "task.skip"
	}
	if err := audit.Record(ctx, tx, sc, audit.Entry{Action: action, ObjectType: "task", ObjectID: audit.ID(id),
		Detail: map[string]any{"title": cur.Title, "result": result}}); err != nil {
		return Task{}, nil, err
	}
	done, err := s.get(ctx, tx, access.System("task:close"), id)
	if err != nil {
		return Task{}, nil, err
	}
	viewer, err := UserLocation(ctx, tx, sc.UserID, s.def)
	if err != nil {
		return Task{}, nil, err
	}
	s.viewerState(&done, viewer)
	kind := Completed
	if status != StatusDone {
		kind = Updated
	}
	if err := s.notify(ctx, tx, Change{Kind: kind, Actor: sc, Before: &cur, After: &done}); err != nil {
		return Task{}, nil, err
	}
	next, err := s.spawnNext(ctx, tx, sc, &cur, now)
	if next != nil {
		s.viewerState(next, viewer)
	}
	return done, next, err
}

// spawnNext creates the occurrence after cur, if the series goes on; nil
// when it has ended or the next one exists already.
func (s *Store) spawnNext(ctx context.Context, tx *sql.Tx, sc access.Scope, cur *Task, now time.Time) (*Task, error) {
	if !cur.Recurring() || cur.SeriesID == nil || cur.SeriesStart == nil {
		return nil, nil
	}
	rule, err := ParseRule(cur.Rule)
	if err != nil {
		return nil, nil //nolint:nilerr // a stored rule the parser now refuses ends the series rather than the completion
	}
	loc, err := UserLocation(ctx, tx, cur.AssignedTo, s.def)
	if err != nil {
		return nil, err
	}
	after := now
	if cur.AllDay {
		// Today's date is not missed: the next one may be today.
		after = localDate(now, loc).Add(-time.Nanosecond)
	}
	if cur.DueAt.After(after) {
		after = cur.DueAt
	}
	due, ok := NextOccurrence(rule, *cur.SeriesStart, after, loc, cur.AllDay)
	if !ok {
		return nil, nil
	}
	due = due.UTC().Truncate(time.Microsecond)
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO tasks (title, title_norm, description, type_id, status, due_at, all_day, is_urgent,
		created_by, assigned_to, company_id, contact_id, recurrence_rrule, series_id, series_start, occurrence, seen, created_at, updated_at)
		SELECT title, title_norm, description, type_id, 'new', $1, all_day, is_urgent,
		created_by, assigned_to, company_id, contact_id, recurrence_rrule, series_id, series_start, occurrence + 1,
		created_by IS NOT NULL AND created_by = assigned_to, $2, $2
		FROM tasks WHERE id = $3
		ON CONFLICT (series_id, occurrence) DO NOTHING RETURNING id`, due, now, cur.ID).Scan(&id)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("next occurrence of %d: %w", cur.ID, err)
	}
	if err := s.history(ctx, tx, sc, id, now, [][3]string{{"created", "", "повтор задачи №" + strconv.FormatInt(cur.ID, 10)}}); err != nil {
		return nil, err
	}
	if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "task.create", ObjectType: "task", ObjectID: audit.ID(id),
		Detail: map[string]any{"title": cur.Title, "assigned_to": cur.AssignedTo, "previous": cur.ID}}); err != nil {
		return nil, err
	}
	next, err := s.get(ctx, tx, access.System("task:next"), id)
	if err != nil {
		return nil, err
	}
	return &next, s.notify(ctx, tx, Change{Kind: Created, Actor: sc, After: &next})
}

// Comments lists the comments of a task sc may see, oldest first.
func (s *Store) Comments(ctx context.Context, sc access.Scope, taskID int64) ([]Comment, error) {
	if _, err := s.get(ctx, s.db, sc, taskID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT cm.id, cm.task_id, cm.author_id, COALESCE(u.first_name, ''), COALESCE(u.last_name, ''), COALESCE(u.username, ''),
		cm.text, cm.created_at FROM task_comments cm LEFT JOIN users u ON u.id = cm.author_id
		WHERE cm.task_id = $1 ORDER BY cm.created_at, cm.id`, taskID)
	if err != nil {
		return nil, fmt.Errorf("task %d comments: %w", taskID, err)
	}
	defer rows.Close()
	out := []Comment{}
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func scanComment(row scanner) (Comment, error) {
	var c Comment
	var author sql.NullInt64
	var first, last, login string
	if err := row.Scan(&c.ID, &c.TaskID, &author, &first, &last, &login, &c.Text, &c.CreatedAt); err != nil {
		return c, fmt.Errorf("scan comment: %w", err)
	}
	if author.Valid {
		v := author.Int64
		c.AuthorID = &v
		c.AuthorName = personName(first, last, login)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c, nil
}

// AddComment adds sc's comment to a task sc may see: seeing a task is
// enough to comment on it.
func (s *Store) AddComment(ctx context.Context, sc access.Scope, taskID int64, text string) (Comment, error) {
	text = strings.TrimSpace(text)
	switch {
	case sc.UserID == 0:
		return Comment{}, apperr.ErrNotFound
	case text == "":
		return Comment{}, apperr.Invalid{"text": "Напишите комментарий"}
	case len([]rune(text)) > MaxComment:
		return Comment{}, apperr.Invalid{"text": "Комментарий — не длиннее " + strconv.Itoa(MaxComment) + " символов"}
	}
	var c Comment
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := s.get(ctx, tx, sc, taskID)
		if err != nil {
			return err
		}
		now := s.now()
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO task_comments (task_id, author_id, text, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			taskID, sc.UserID, text, now).Scan(&id); err != nil {
			return fmt.Errorf("insert comment: %w", err)
		}
		c = Comment{ID: id, TaskID: taskID, AuthorID: &sc.UserID, AuthorName: sc.Name, Text: text, CreatedAt: now}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "task.comment", ObjectType: "task", ObjectID: audit.ID(taskID),
			Detail: map[string]any{"comment": id}}); err != nil {
			return err
		}
		return s.notify(ctx, tx, Change{Kind: Commented, Actor: sc, Before: &t, After: &t, Comment: &c})
	})
	return c, err
}

// History lists the changes of a task sc may see, oldest first.
func (s *Store) History(ctx context.Context, sc access.Scope, taskID int64) ([]HistoryEntry, error) {
	if _, err := s.get(ctx, s.db, sc, taskID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT h.id, h.at, h.actor_id, h.actor_name, h.field, h.old, h.new
		FROM task_history h WHERE h.task_id = $1 ORDER BY h.at, h.id`, taskID)
	if err != nil {
		return nil, fmt.Errorf("task %d history: %w", taskID, err)
	}
	defer rows.Close()
	out := []HistoryEntry{}
	for rows.Next() {
		var h HistoryEntry
		var actor sql.NullInt64
		if err := rows.Scan(&h.ID, &h.At, &actor, &h.ActorName, &h.Field, &h.Old, &h.New); err != nil {
			return nil, fmt.Errorf("scan history: %w", err)
		}
		if actor.Valid {
			v := actor.Int64
			h.ActorID = &v
		}
		h.At = database.UTC(h.At)
		out = append(out, h)
	}
	return out, rows.Err()
}
