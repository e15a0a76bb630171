package task_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
)

// bulkWorld: Алиса has two tasks of her own and one Борис set for her;
// Вера has one Алиса cannot see.
type bulkWorld struct {
	*world
	own1, own2, fromBoris, veras task.Task
	now                          time.Time
}

func newBulkWorld(t *testing.T, db *database.DB) *bulkWorld {
	t.Helper()
	w := &bulkWorld{world: newWorld(t, db), now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	w.store.SetClock(func() time.Time { return w.now })
	c := w.cast
	w.own1 = w.create(t, c.Alisa.Scope, task.Input{Title: str("Своя 1"), DueAt: str("2026-12-03T15:30:00+03:00")})
	w.own2 = w.create(t, c.Alisa.Scope, task.Input{Title: str("Своя 2 (весь день)"), DueAt: str("2026-12-02")})
	w.fromBoris = w.create(t, c.Boris.Scope, task.Input{Title: str("От Бориса"), DueAt: str("2026-12-01T10:00:00+03:00"), AssignedTo: who(c.Alisa.ID)})
	w.veras = w.create(t, c.Vera.Scope, task.Input{Title: str("Верина"), DueAt: str("2026-12-04T10:00:00+03:00")})
	return w
}

func (w *bulkWorld) get(t *testing.T, id int64) task.Task {
	t.Helper()
	tk, err := w.store.Get(context.Background(), access.System("test"), id)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestBulkRescheduleOneRefusedOfThreeThenUndo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newBulkWorld(t, db)
		ctx := context.Background()
		msk, _ := time.LoadLocation("Europe/Moscow")
		alisa := w.cast.Alisa.Scope

		res, err := w.store.Bulk(ctx, alisa, task.BulkInput{
			IDs: []int64{w.own1.ID, w.veras.ID, w.own2.ID, w.own1.ID}, Action: task.BulkReschedule, DueAt: "2026-12-10",
		}, msk)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Done) != 2 || res.Done[0] != w.own1.ID || res.Done[1] != w.own2.ID {
			t.Errorf("done %v, want her two tasks once each", res.Done)
		}
		if len(res.Refused) != 1 || res.Refused[0].ID != w.veras.ID || res.Refused[0].Detail != "Задача не найдена" {
			t.Errorf("refused %+v, want Вера's task as not found", res.Refused)
		}
		if res.UndoToken == "" {
			t.Fatal("no undo token")
		}
		// The timed task keeps its 15:30 Moscow; the all-day one stays all day.
		if got := w.get(t, w.own1.ID); !got.DueAt.Equal(time.Date(2026, 12, 10, 12, 30, 0, 0, time.UTC)) || got.AllDay {
			t.Errorf("own1 due %v all day %v", got.DueAt, got.AllDay)
		}
		if got := w.get(t, w.own2.ID); !got.DueAt.Equal(time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)) || !got.AllDay {
			t.Errorf("own2 due %v all day %v", got.DueAt, got.AllDay)
		}

		// Someone else's token is unknown to them.
		if _, err := w.store.Undo(ctx, w.cast.Boris.Scope, res.UndoToken, msk); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Борис undoes Алиса's action: %v, want not found", err)
		}
		undo, err := w.store.Undo(ctx, alisa, res.UndoToken, msk)
		if err != nil {
			t.Fatal(err)
		}
		if len(undo.Restored) != 2 || len(undo.Refused) != 0 || undo.Action != task.BulkReschedule {
			t.Errorf("undo = %+v", undo)
		}
		if got := w.get(t, w.own1.ID); !got.DueAt.Equal(w.own1.DueAt) || got.AllDay {
			t.Errorf("own1 back to %v, want %v", got.DueAt, w.own1.DueAt)
		}
		if got := w.get(t, w.own2.ID); !got.DueAt.Equal(w.own2.DueAt) || !got.AllDay {
			t.Errorf("own2 back to %v, want %v", got.DueAt, w.own2.DueAt)
		}
		if _, err := w.store.Undo(ctx, alisa, res.UndoToken, msk); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("a second undo: %v, want not found (used once)", err)
		}
	})
}

func TestBulkUndoExpiresAfterTenMinutesAndYieldsToLaterChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newBulkWorld(t, db)
		ctx := context.Background()
		alisa := w.cast.Alisa.Scope
		res, err := w.store.Bulk(ctx, alisa, task.BulkInput{IDs: []int64{w.own1.ID}, Action: task.BulkReschedule, DueAt: "2026-12-20T09:00"}, time.UTC)
		if err != nil || len(res.Done) != 1 {
			t.Fatalf("bulk: %+v %v", res, err)
		}
		if got := w.get(t, w.own1.ID); !got.DueAt.Equal(time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("moved to %v", got.DueAt)
		}
		w.now = w.now.Add(task.UndoWindow + time.Second)
		if _, err := w.store.Undo(ctx, alisa, res.UndoToken, time.UTC); !errors.Is(err, task.ErrUndoExpired) {
			t.Errorf("late undo: %v, want expired", err)
		}

		// A change after the bulk action wins over its undo.
		res, err = w.store.Bulk(ctx, alisa, task.BulkInput{IDs: []int64{w.own1.ID, w.own2.ID}, Action: task.BulkReschedule, DueAt: "2026-12-21"}, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.store.Update(ctx, alisa, w.own2.ID, task.Input{Title: str("Переименована")}); err != nil {
			t.Fatal(err)
		}
		undo, err := w.store.Undo(ctx, alisa, res.UndoToken, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if len(undo.Restored) != 1 || undo.Restored[0] != w.own1.ID || len(undo.Refused) != 1 || undo.Refused[0].ID != w.own2.ID {
			t.Errorf("undo = %+v, want own1 restored and own2 refused", undo)
		}
		if got := w.get(t, w.own2.ID); !got.DueAt.Equal(time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)) || got.Title != "Переименована" {
			t.Errorf("own2 = %v %q, want the later change kept", got.DueAt, got.Title)
		}
	})
}

func TestBulkReassignFollowsTheAssignRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newBulkWorld(t, db)
		ctx := context.Background()
		c := w.cast
		// A manager may not give her tasks to someone else.
		res, err := w.store.Bulk(ctx, c.Alisa.Scope, task.BulkInput{IDs: []int64{w.own1.ID, w.own2.ID}, Action: task.BulkReassign,
			AssignedTo: who(c.Vera.ID)}, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Done) != 0 || len(res.Refused) != 2 || !strings.Contains(res.Refused[0].Detail, "Менеджер") || res.UndoToken != "" {
			t.Errorf("Алиса → Вера: %+v", res)
		}
		// Борис may, within his branch: his task for Алиса goes to himself.
		res, err = w.store.Bulk(ctx, c.Boris.Scope, task.BulkInput{IDs: []int64{w.fromBoris.ID}, Action: task.BulkReassign,
			AssignedTo: who(c.Boris.ID)}, time.UTC)
		if err != nil || len(res.Done) != 1 {
			t.Fatalf("Борис: %+v %v", res, err)
		}
		if got := w.get(t, w.fromBoris.ID); got.AssignedTo != c.Boris.ID {
			t.Errorf("assignee %d", got.AssignedTo)
		}
		if _, err := w.store.Undo(ctx, c.Boris.Scope, res.UndoToken, time.UTC); err != nil {
			t.Fatal(err)
		}
		if got := w.get(t, w.fromBoris.ID); got.AssignedTo != c.Alisa.ID {
			t.Errorf("assignee after undo %d, want Алиса", got.AssignedTo)
		}
	})
}

func TestBulkCompleteOfARecurringTaskAndItsUndo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newBulkWorld(t, db)
		ctx := context.Background()
		c := w.cast
		weekly := w.create(t, c.Boris.Scope, task.Input{Title: str("Планёрка"), DueAt: str("2026-12-03T10:00:00+03:00"),
			AssignedTo: who(c.Alisa.ID), Rule: str("FREQ=WEEKLY")})
		res, err := w.store.Bulk(ctx, c.Alisa.Scope, task.BulkInput{IDs: []int64{weekly.ID, w.own1.ID, w.veras.ID},
			Action: task.BulkComplete, Result: "Обсудили план"}, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Done) != 2 || len(res.Refused) != 1 {
			t.Fatalf("complete: %+v", res)
		}
		done := w.get(t, weekly.ID)
		if done.Status != task.StatusDone || done.Result != "Обсудили план" {
			t.Errorf("weekly = %s %q", done.Status, done.Result)
		}
		series, _, err := w.store.List(ctx, access.System("test"), task.Filter{Series: *weekly.SeriesID})
		if err != nil || len(series) != 2 {
			t.Fatalf("series after complete: %d tasks, %v", len(series), err)
		}
		// Completing again is refused, as for one task.
		again, err := w.store.Bulk(ctx, c.Alisa.Scope, task.BulkInput{IDs: []int64{weekly.ID}, Action: task.BulkComplete}, time.UTC)
		if err != nil || len(again.Refused) != 1 {
			t.Errorf("complete twice: %+v %v", again, err)
		}

		undo, err := w.store.Undo(ctx, c.Alisa.Scope, res.UndoToken, time.UTC)
		if err != nil || len(undo.Restored) != 2 {
			t.Fatalf("undo: %+v %v", undo, err)
		}
		back := w.get(t, weekly.ID)
		if back.Status != task.StatusNew || back.Result != "" || back.CompletedAt != nil {
			t.Errorf("weekly after undo: %s %q %v", back.Status, back.Result, back.CompletedAt)
		}
		series, _, err = w.store.List(ctx, access.System("test"), task.Filter{Series: *weekly.SeriesID})
		if err != nil || len(series) != 1 {
			t.Errorf("series after undo: %d tasks (the next occurrence must go), %v", len(series), err)
		}
		// And it can be completed again, with its next occurrence again.
		if _, next, err := w.store.Complete(ctx, c.Alisa.Scope, weekly.ID, "Снова", 0); err != nil || next == nil {
			t.Errorf("complete after undo: next %v, %v", next, err)
		}
	})
}

func TestBulkRefusesHostileInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newBulkWorld(t, db)
		ctx := context.Background()
		many := make([]int64, task.MaxBulkIDs+1)
		for i := range many {
			many[i] = int64(i + 1)
		}
		for _, tc := range []struct {
			name  string
			in    task.BulkInput
			field string
		}{
			{"no ids", task.BulkInput{Action: task.BulkComplete}, "ids"},
			{"more than 500 ids", task.BulkInput{IDs: many, Action: task.BulkComplete}, "ids"},
			{"a negative id", task.BulkInput{IDs: []int64{1, -5}, Action: task.BulkComplete}, "ids"},
			{"no action", task.BulkInput{IDs: []int64{1}}, "action"},
			{"an unknown action", task.BulkInput{IDs: []int64{1}, Action: "delete"}, "action"},
			{"reschedule without a date", task.BulkInput{IDs: []int64{1}, Action: task.BulkReschedule}, "due_at"},
			{"reschedule to nonsense", task.BulkInput{IDs: []int64{1}, Action: task.BulkReschedule, DueAt: "завтра'; DROP TABLE tasks"}, "due_at"},
			{"reschedule to year 0", task.BulkInput{IDs: []int64{1}, Action: task.BulkReschedule, DueAt: "0000-01-01"}, "due_at"},
			{"reassign to no one", task.BulkInput{IDs: []int64{1}, Action: task.BulkReassign}, "assigned_to"},
			{"a 20 000 character result", task.BulkInput{IDs: []int64{1}, Action: task.BulkComplete, Result: strings.Repeat("ж", 20000)}, "result"},
		} {
			t.Run(tc.name+" is a field error", func(t *testing.T) {
				_, err := w.store.Bulk(ctx, w.cast.Alisa.Scope, tc.in, time.UTC)
				inv, ok := apperr.AsInvalid(err)
				if !ok || inv[tc.field] == "" {
					t.Errorf("err = %v, want a message for %s", err, tc.field)
				}
			})
		}
		if got := w.get(t, w.own1.ID); got.Version != w.own1.Version {
			t.Error("a refused bulk action changed a task")
		}
		for _, token := range []string{"", "nonsense", strings.Repeat("x", 5000)} {
			if _, err := w.store.Undo(ctx, w.cast.Alisa.Scope, token, time.UTC); !errors.Is(err, apperr.ErrNotFound) {
				t.Errorf("undo %q: %v, want not found", token[:min(len(token), 10)], err)
			}
		}
	})
}
