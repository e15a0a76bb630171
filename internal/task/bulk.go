package task

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// The bulk actions on tasks.
const (
	BulkReschedule = "reschedule"
	BulkReassign   = "reassign"
	BulkComplete   = "complete"
)

// Bulk limits: how many tasks one action may name, and how long its undo
// stays possible.
const (
	MaxBulkIDs = 500
	UndoWindow = 10 * time.Minute
)

// ErrUndoExpired is an undo token that was real but whose ten minutes
// are over (the server answers 410 Gone).
var ErrUndoExpired = errors.New("task: undo token expired")

// BulkInput is POST /api/tasks/bulk/: the tasks, the action and its value.
// DueAt is a date "YYYY-MM-DD" — each task moves to that day and keeps its
// time of day (in the caller's zone) — or a moment ("YYYY-MM-DDTHH:MM" in
// the caller's zone, or RFC 3339), which every timed task takes as it is
// and an all-day task as its date.
type BulkInput struct {
	IDs        []int64     `json:"ids"`
	Action     string      `json:"action"`
	DueAt      string      `json:"due_at"`
	AssignedTo OptAssignee `json:"assigned_to"`
	Result     string      `json:"result"`
}

// Refusal is a task a bulk action or an undo left as it was, and why.
type Refusal struct {
	ID     int64  `json:"id"`
	Detail string `json:"detail"`
}

// BulkResult is what a bulk action did: the tasks changed, those refused
// with the reason, and the token that undoes the changes for UndoWindow
// ("" when nothing changed).
type BulkResult struct {
	Done      []int64   `json:"done"`
	Refused   []Refusal `json:"refused"`
	UndoToken string    `json:"undo_token"`
}

// UndoResult is what an undo put back, and what it could not.
type UndoResult struct {
	Action   string    `json:"action"`
	Restored []int64   `json:"restored"`
	Refused  []Refusal `json:"refused"`
}

// undoItem is one task's previous values in an undo record.
type undoItem struct {
	ID      int64 `json:"id"`
	Version int   `json:"version"` // what the action left: the undo requires it still
	// reschedule
	DueAt  *time.Time `json:"due_at,omitempty"`
	AllDay bool       `json:"all_day,omitempty"`
	// reassign
	AssignedTo int64 `json:"assigned_to,omitempty"`
	// complete
	Status      Status `json:"status,omitempty"`
	Result      string `json:"result,omitempty"`
	Next        int64  `json:"next,omitempty"`
	NextVersion int    `json:"next_version,omitempty"`
}

// validate checks a bulk input as a whole before any task is touched:
// field errors name the bad field, in Russian.
func (in *BulkInput) validate(loc *time.Location) (due dueTarget, err error) {
	inv := apperr.Invalid{}
	switch {
	case len(in.IDs) == 0:
		inv["ids"] = "Выберите хотя бы одну задачу"
	case len(in.IDs) > MaxBulkIDs:
		inv["ids"] = "Не больше " + strconv.Itoa(MaxBulkIDs) + " задач за раз"
	default:
		seen := make(map[int64]bool, len(in.IDs))
		ids := in.IDs[:0]
		for _, id := range in.IDs {
			if id <= 0 {
				inv["ids"] = "Неверный номер задачи: " + strconv.FormatInt(id, 10)
				break
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		in.IDs = ids
	}
	switch in.Action {
	case BulkReschedule:
		d, ok := parseDueTarget(in.DueAt, loc)
		if !ok {
			inv["due_at"] = "Укажите дату ДД.ММ.ГГГГ (например, 05.12.2026) или дату и время"
		}
		due = d
	case BulkReassign:
		if !in.AssignedTo.Set || in.AssignedTo.Bad {
			inv["assigned_to"] = "Выберите исполнителя"
		}
	case BulkComplete:
		if len([]rune(in.Result)) > MaxResult {
			inv["result"] = "Не длиннее " + strconv.Itoa(MaxResult) + " символов"
		}
	case "":
		inv["action"] = "Выберите действие: reschedule, reassign или complete"
	default:
		inv["action"] = "Неизвестное действие; допустимо: reschedule, reassign, complete"
	}
	if len(inv) > 0 {
		return due, inv
	}
	return due, nil
}

// dueTarget is where a reschedule moves tasks: a whole day, or a moment.
type dueTarget struct {
	date   time.Time // the day, 00:00 UTC (a floating date), when dateOnly
	moment time.Time
	// dateOnly: keep each timed task's time of day.
	dateOnly bool
}

// parseDueTarget reads "YYYY-MM-DD" or «ДД.ММ.ГГГГ», "YYYY-MM-DDTHH:MM"
// (in loc) or RFC 3339, within the years a task's due date may have (2000…2199).
func parseDueTarget(s string, loc *time.Location) (dueTarget, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return dueTarget{}, false
	}
	inRange := func(t time.Time) bool { return t.Year() >= 2000 && t.Year() <= 2199 }
	for _, layout := range []string{"2006-01-02", "2.1.2006"} {
		if d, err := time.Parse(layout, s); err == nil && inRange(d) {
			return dueTarget{date: d, dateOnly: true}, true
		}
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil && inRange(t) {
			return dueTarget{moment: t.UTC()}, true
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil && inRange(t) {
		return dueTarget{moment: t.UTC()}, true
	}
	return dueTarget{}, false
}

// dueFor is the due_at input that moves t to target, read in loc: an
// all-day task stays all-day on the target's date; a timed task keeps its
// time of day on a target date, or takes the target moment.
func dueFor(t Task, target dueTarget, loc *time.Location) Input {
	in := Input{Loc: loc, Version: company.OptVersion{Set: true, Value: t.Version}}
	switch {
	case t.AllDay:
		d := target.date
		if !target.dateOnly {
			y, m, day := target.moment.In(loc).Date()
			d = time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
		}
		in.DueAt = company.OptString{Set: true, Value: d.Format("2006-01-02")}
		in.AllDay = OptBool{Set: true, Value: true}
	case target.dateOnly:
		local := t.DueAt.In(loc)
		y, m, d := target.date.Date()
		at := time.Date(y, m, d, local.Hour(), local.Minute(), local.Second(), 0, loc)
		in.DueAt = company.OptString{Set: true, Value: at.Format(time.RFC3339)}
	default:
		in.DueAt = company.OptString{Set: true, Value: target.moment.Format(time.RFC3339)}
	}
	return in
}

// refusalText is why one task of a bulk action was left as it was — the
// same reasons as for the task alone, in Russian. ok is false for an
// unexpected error, which stops the action.
func refusalText(err error) (string, bool) {
	var forb *apperr.Forbidden
	var conflict *apperr.Conflict
	if inv, ok := apperr.AsInvalid(err); ok {
		parts := make([]string, 0, len(inv))
		for _, v := range inv {
			parts = append(parts, v)
		}
		return strings.Join(parts, "; "), true
	}
	switch {
	case errors.As(err, &forb):
		return forb.Reason, true
	case errors.Is(err, apperr.ErrForbidden):
		return "Недостаточно прав", true
	case errors.Is(err, apperr.ErrNotFound):
		return "Задача не найдена", true
	case errors.As(err, &conflict):
		return conflict.Message, true
	case errors.Is(err, apperr.ErrConflict):
		return "Задачу изменил другой пользователь", true
	}
	return "", false
}

// Bulk applies one action to many tasks, each exactly as if it were done
// to that task alone (Update or Complete, with their rules, history, audit
// entry and hooks) and each in its own transaction: one refused task (not
// visible, not allowed, changed meanwhile, already done) is reported in
// Refused and does not hold the others back. What was changed is kept for
// UndoWindow under the returned token, bound to the caller. loc is the
// caller's zone (dates and times without an offset).
func (s *Store) Bulk(ctx context.Context, sc access.Scope, in BulkInput, loc *time.Location) (BulkResult, error) {
	res := BulkResult{Done: []int64{}, Refused: []Refusal{}}
	if !sc.Acts() || sc.UserID == 0 {
		return res, apperr.ErrNotFound
	}
	if loc == nil {
		loc = s.def
	}
	target, err := in.validate(loc)
	if err != nil {
		return res, err
	}
	items := make([]undoItem, 0, len(in.IDs))
	for _, id := range in.IDs {
		item, err := s.bulkOne(ctx, sc, id, in, target, loc)
		if err != nil {
			detail, ok := refusalText(err)
			if !ok {
				return res, fmt.Errorf("bulk %s of task %d: %w", in.Action, id, err)
			}
			res.Refused = append(res.Refused, Refusal{ID: id, Detail: detail})
			continue
		}
		res.Done = append(res.Done, id)
		items = append(items, item)
	}
	if len(items) == 0 {
		return res, nil
	}
	res.UndoToken, err = s.saveUndo(ctx, sc, in.Action, items)
	return res, err
}

// bulkOne does the action to one task and returns what undoes it.
func (s *Store) bulkOne(ctx context.Context, sc access.Scope, id int64, in BulkInput, target dueTarget, loc *time.Location) (undoItem, error) {
	cur, err := s.get(ctx, s.db, sc, id)
	if err != nil {
		return undoItem{}, err
	}
	item := undoItem{ID: id}
	var after Task
	switch in.Action {
	case BulkReschedule:
		if !cur.Status.Open() {
			return item, apperr.Invalid{"status": "Задача уже закрыта"}
		}
		due := cur.DueAt
		item.DueAt, item.AllDay = &due, cur.AllDay
		after, err = s.Update(ctx, sc, id, dueFor(cur, target, loc))
	case BulkReassign:
		item.AssignedTo = cur.AssignedTo
		after, err = s.Update(ctx, sc, id, Input{Loc: loc, AssignedTo: in.AssignedTo,
			Version: company.OptVersion{Set: true, Value: cur.Version}})
	case BulkComplete:
		if !cur.Status.Open() {
			return item, apperr.Invalid{"status": "Задача уже закрыта"}
		}
		item.Status, item.Result = cur.Status, cur.Result
		var next *Task
		after, next, err = s.Complete(ctx, sc, id, in.Result, cur.Version)
		if err == nil && next != nil {
			item.Next, item.NextVersion = next.ID, next.Version
		}
	}
	if err != nil {
		return item, err
	}
	item.Version = after.Version
	return item, nil
}

// newUndoToken is 24 random bytes, URL-safe, and the hash kept of it.
func newUndoToken() (token, hash string, err error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashUndoToken(token), nil
}

func hashUndoToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// saveUndo keeps items under a new token for UndoWindow. Expired records
// are dropped by the periodic purge (PurgeUndo), not here: a bulk action
// writes its own record and nothing else.
func (s *Store) saveUndo(ctx context.Context, sc access.Scope, action string, items []undoItem) (string, error) {
	token, hash, err := newUndoToken()
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(items)
	if err != nil {
		return "", err
	}
	now := s.now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO task_bulk_undo (token_hash, user_id, action, payload, created_ms, expires_ms)
		VALUES ($1, $2, $3, $4, $5, $6)`, hash, sc.UserID, action, string(payload), now.UnixMilli(), now.Add(UndoWindow).UnixMilli())
	if err != nil {
		return "", fmt.Errorf("save bulk undo: %w", err)
	}
	return token, nil
}

// UndoRetention is how long an expired undo record is kept: a late
// «Отменить» is told the undo expired (410) rather than that it is
// unknown.
const UndoRetention = 24 * time.Hour

// PurgeUndo deletes the bulk-undo records that expired before before and
// reports how many. The periodic purge job (internal/jobs) calls it with
// now − UndoRetention.
func PurgeUndo(ctx context.Context, q database.Querier, before time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM task_bulk_undo WHERE expires_ms < $1`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purge bulk undo: %w", err)
	}
	return res.RowsAffected()
}

// Undo puts back what the bulk action of token changed, task by task, as
// the caller (the same rules as any change) and only where the task is
// still as the action left it (its version): a later change wins and the
// task is reported in Refused. A token is used once. Someone else's token,
// or an unknown one, is ErrNotFound; one past its ten minutes is
// ErrUndoExpired.
func (s *Store) Undo(ctx context.Context, sc access.Scope, token string, loc *time.Location) (UndoResult, error) {
	res := UndoResult{Restored: []int64{}, Refused: []Refusal{}}
	token = strings.TrimSpace(token)
	if !sc.Acts() || sc.UserID == 0 || token == "" || len(token) > 100 {
		return res, apperr.ErrNotFound
	}
	if loc == nil {
		loc = s.def
	}
	var payload string
	var expires int64
	// Claimed by deleting it: two undos at once cannot both have it.
	err := s.db.QueryRowContext(ctx, `DELETE FROM task_bulk_undo WHERE token_hash = $1 AND user_id = $2
		RETURNING action, payload, expires_ms`, hashUndoToken(token), sc.UserID).Scan(&res.Action, &payload, &expires)
	if isNoRows(err) {
		return res, apperr.ErrNotFound
	}
	if err != nil {
		return res, fmt.Errorf("claim bulk undo: %w", err)
	}
	if s.now().UnixMilli() > expires {
		return res, ErrUndoExpired
	}
	var items []undoItem
	if err := json.Unmarshal([]byte(payload), &items); err != nil {
		return res, fmt.Errorf("bulk undo payload: %w", err)
	}
	for _, it := range items {
		if err := s.undoOne(ctx, sc, res.Action, it, loc); err != nil {
			detail, ok := refusalText(err)
			if !ok {
				return res, fmt.Errorf("undo %s of task %d: %w", res.Action, it.ID, err)
			}
			res.Refused = append(res.Refused, Refusal{ID: it.ID, Detail: detail})
			continue
		}
		res.Restored = append(res.Restored, it.ID)
	}
	return res, nil
}

// undoOne restores one task in one transaction; a completion's next
// occurrence is removed with it, if nobody has touched it since.
func (s *Store) undoOne(ctx context.Context, sc access.Scope, action string, it undoItem, loc *time.Location) error {
	version := company.OptVersion{Set: true, Value: it.Version}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		st := s.WithTx(tx)
		switch action {
		case BulkReschedule:
			if it.DueAt == nil {
				return nil
			}
			in := Input{Loc: loc, Version: version, AllDay: OptBool{Set: true, Value: it.AllDay}}
			if it.AllDay {
				in.DueAt = company.OptString{Set: true, Value: it.DueAt.UTC().Format("2006-01-02")}
			} else {
				in.DueAt = company.OptString{Set: true, Value: it.DueAt.UTC().Format(time.RFC3339Nano)}
			}
			_, err := st.Update(ctx, sc, it.ID, in)
			return err
		case BulkReassign:
			_, err := st.Update(ctx, sc, it.ID, Input{Loc: loc, Version: version,
				AssignedTo: OptAssignee{Set: true, Value: it.AssignedTo}})
			return err
		case BulkComplete:
			if it.Next != 0 {
				next, err := st.get(ctx, tx, sc, it.Next)
				if err != nil && !errors.Is(err, apperr.ErrNotFound) {
					return err
				}
				if err == nil {
					if next.Version != it.NextVersion || !next.Status.Open() {
						return &apperr.Conflict{Message: "Следующую задачу серии уже изменили — отмена не применена"}
					}
					if err := st.removeNext(ctx, tx, sc, next); err != nil {
						return err
					}
				}
			}
			_, err := st.Update(ctx, sc, it.ID, Input{Loc: loc, Version: version,
				Status: company.OptString{Set: true, Value: string(it.Status)},
				Result: company.OptString{Set: true, Value: it.Result}})
			return err
		}
		return nil
	})
}

// removeNext deletes the occurrence a completion created, undoing it. The
// caller may not be allowed to delete tasks of that series (its author
// is someone else), but it exists only because of their own completion:
// it goes with the same audit entry and hooks as a delete, in the
// caller's name.
func (s *Store) removeNext(ctx context.Context, tx *sql.Tx, sc access.Scope, next Task) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM tasks WHERE id = $1 AND version = $2`, next.ID, next.Version)
	if err != nil {
		return fmt.Errorf("undo: delete next occurrence %d: %w", next.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return &apperr.Conflict{Message: "Следующую задачу серии уже изменили — отмена не применена"}
	}
	if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "task.delete", ObjectType: "task", ObjectID: audit.ID(next.ID),
		Detail: map[string]any{"title": next.Title, "undo": "bulk complete"}}); err != nil {
		return err
	}
	return s.notify(ctx, tx, Change{Kind: Deleted, Actor: sc, Before: &next})
}
