package task_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
)

func TestCompleteCreatesTheNextOccurrence(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		// Алиса's branch is Moscow: 10:00 local every Monday.
		now := time.Date(2030, 3, 4, 8, 0, 0, 0, time.UTC) // Monday 11:00 MSK
		w.store.SetClock(func() time.Time { return now })
		tk := w.create(t, c.Boris.Scope, task.Input{Title: str("Планёрка"), DueAt: str("2030-03-04T10:00:00+03:00"),
			AssignedTo: who(c.Alisa.ID), Company: id(w.compA), Rule: str("FREQ=WEEKLY;BYDAY=MO;COUNT=5")})
		if tk.SeriesID == nil || *tk.SeriesID != tk.ID || tk.Occurrence != 1 || tk.RuleText == "" {
			t.Fatalf("first of the series = %+v", tk)
		}
		done, next, err := w.store.Complete(ctx, c.Alisa.Scope, tk.ID, "Провели", tk.Version)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != task.StatusDone || done.Result != "Провели" || done.CompletedAt == nil || !done.CompletedAt.Equal(now) {
			t.Errorf("done = %+v", done)
		}
		if next == nil || !next.DueAt.Equal(time.Date(2030, 3, 11, 7, 0, 0, 0, time.UTC)) || next.Occurrence != 2 ||
			*next.SeriesID != tk.ID || next.Title != "Планёрка" || *next.CompanyID != w.compA || next.Seen || *next.CreatedBy != c.Boris.ID {
			t.Fatalf("next = %+v", next)
		}
		if _, _, err := w.store.Complete(ctx, c.Alisa.Scope, tk.ID, "Снова", 0); !errors.Is(err, apperr.ErrConflict) {
			t.Errorf("completing twice: %v", err)
		}
		t.Run("a late completion skips the missed dates", func(t *testing.T) {
			now = time.Date(2030, 3, 20, 9, 0, 0, 0, time.UTC) // Wednesday after the 18th
			_, third, err := w.store.Complete(ctx, c.Alisa.Scope, next.ID, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if third == nil || !third.DueAt.Equal(time.Date(2030, 3, 25, 7, 0, 0, 0, time.UTC)) || third.Occurrence != 3 {
				t.Fatalf("third = %+v", third)
			}
			t.Run("and COUNT counts from the series' start", func(t *testing.T) {
				// 4, 11, 18, 25 March, 1 April: five dates, two of them skipped.
				_, fifth, err := w.store.Complete(ctx, c.Alisa.Scope, third.ID, "", 0)
				if err != nil || fifth == nil || !fifth.DueAt.Equal(time.Date(2030, 4, 1, 7, 0, 0, 0, time.UTC)) {
					t.Fatalf("after the third: %v, %+v", err, fifth)
				}
				_, none, err := w.store.Complete(ctx, c.Alisa.Scope, fifth.ID, "", 0)
				if err != nil || none != nil {
					t.Errorf("after the last: %v, %+v", err, none)
				}
			})
		})
		t.Run("history and audit record the completion", func(t *testing.T) {
			h, err := w.store.History(ctx, c.Boris.Scope, tk.ID)
			if err != nil || len(h) != 3 || h[0].Field != "created" || h[1].Field != "status" || h[1].New != "Выполнена" || h[2].Field != "result" {
				t.Errorf("history = %+v, %v", h, err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'task.complete'`).Scan(&n); err != nil || n != 4 {
				t.Errorf("task.complete entries = %d, %v", n, err)
			}
		})
	})
}

func TestNextOccurrenceExactlyOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		tk := w.create(t, c.Gleb.Scope, task.Input{Title: str("Каждый день"), DueAt: str("2030-01-01T09:00:00Z"), Rule: str("FREQ=DAILY")})
		const n = 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, conflicts int
		var nexts []int64
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				_, next, err := w.store.Complete(ctx, c.Gleb.Scope, tk.ID, "готово", 0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
					if next != nil {
						nexts = append(nexts, next.ID)
					}
				case errors.Is(err, apperr.ErrConflict):
					conflicts++
				default:
					t.Errorf("complete: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok != 1 || conflicts != n-1 || len(nexts) != 1 {
			t.Errorf("ok %d, conflicts %d, nexts %v", ok, conflicts, nexts)
		}
		var rows int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tasks WHERE series_id = $1`, tk.ID).Scan(&rows); err != nil || rows != 2 {
			t.Errorf("tasks in the series = %d, %v", rows, err)
		}
	})
}

func TestSkipStopAndSeriesEdits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		now := time.Date(2030, 1, 1, 6, 0, 0, 0, time.UTC)
		w.store.SetClock(func() time.Time { return now })
		sc := c.Gleb.Scope // Novosibirsk (UTC+7) by his branch
		tk := w.create(t, sc, task.Input{Title: str("Отчёт"), DueAt: str("2030-01-01"), Rule: str("FREQ=DAILY")})
		if !tk.AllDay {
			t.Fatal("a date alone is a whole day")
		}
		skipped, next, err := w.store.Skip(ctx, sc, tk.ID, 0)
		if err != nil || skipped.Status != task.StatusCancelled || next == nil || !next.DueAt.Equal(time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)) || !next.Seen {
			t.Fatalf("skip: %v %+v %+v", err, skipped, next)
		}
		if _, _, err := w.store.Skip(ctx, sc, w.t3.ID, 0); !errors.Is(err, apperr.ErrConflict) {
			t.Errorf("skipping a task that does not repeat: %v", err)
		}
		t.Run("a new rule restarts the series from this task", func(t *testing.T) {
			upd, err := w.store.Update(ctx, sc, next.ID, task.Input{Rule: str("FREQ=WEEKLY;INTERVAL=2")})
			if err != nil || *upd.SeriesID != next.ID || upd.Occurrence != 1 || !upd.SeriesStart.Equal(upd.DueAt) || upd.Rule != "FREQ=WEEKLY;INTERVAL=2" {
				t.Fatalf("update: %v %+v", err, upd)
			}
			_, after, err := w.store.Complete(ctx, sc, upd.ID, "", 0)
			if err != nil || after == nil || !after.DueAt.Equal(time.Date(2030, 1, 16, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("complete: %v %+v", err, after)
			}
			t.Run("and stopping it leaves no next", func(t *testing.T) {
				stopped, err := w.store.StopSeries(ctx, sc, after.ID, after.Version)
				if err != nil || stopped.Rule != "" {
					t.Fatalf("stop: %v %+v", err, stopped)
				}
				_, none, err := w.store.Complete(ctx, sc, after.ID, "", 0)
				if err != nil || none != nil {
					t.Errorf("complete after stop: %v %+v", err, none)
				}
			})
		})
		t.Run("a bad rule names its part", func(t *testing.T) {
			_, err := w.store.Create(ctx, sc, task.Input{Title: str("x"), DueAt: str("2030-01-01"), Rule: str("FREQ=WEEKLY;BYDAY=XX")})
			inv, ok := apperr.AsInvalid(err)
			if !ok || inv["recurrence_rrule"] == "" {
				t.Errorf("err = %v", err)
			}
		})
	})
}

func TestComments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c := w.cast
		var kinds []task.ChangeKind
		w.store.OnChange(func(_ context.Context, _ *sql.Tx, ch task.Change) error {
			kinds = append(kinds, ch.Kind)
			return nil
		})
		cm, err := w.store.AddComment(ctx, c.Alisa.Scope, w.t1.ID, "  Перезвоню завтра ")
		if err != nil || cm.Text != "Перезвоню завтра" || cm.AuthorName != "Алиса Аксёнова" {
			t.Fatalf("comment: %v %+v", err, cm)
		}
		if _, err := w.store.AddComment(ctx, c.Vera.Scope, w.t1.ID, "чужое"); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Вера comments on a task she cannot see: %v", err)
		}
		if _, err := w.store.AddComment(ctx, c.Alisa.Scope, w.t1.ID, " "); err == nil {
			t.Error("an empty comment was taken")
		}
		list, err := w.store.Comments(ctx, c.Boris.Scope, w.t1.ID)
		if err != nil || len(list) != 1 || list[0].ID != cm.ID {
			t.Errorf("comments = %+v, %v", list, err)
		}
		if _, err := w.store.Comments(ctx, c.Vera.Scope, w.t1.ID); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Вера lists the comments: %v", err)
		}
		if len(kinds) != 1 || kinds[0] != task.Commented {
			t.Errorf("hooks = %v", kinds)
		}
	})
}

func TestSeriesScopeMovesTheSeries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		sc := w.cast.Darya.Scope // no branch: the default zone (UTC here)
		now := time.Date(2030, 1, 1, 6, 0, 0, 0, time.UTC)
		w.store.SetClock(func() time.Time { return now })
		tk := w.create(t, sc, task.Input{Title: str("Отчёт"), DueAt: str("2030-01-07T09:00:00Z"), Rule: str("FREQ=WEEKLY")})
		t.Run("moving one occurrence keeps the series' days", func(t *testing.T) {
			moved, err := w.store.Update(ctx, sc, tk.ID, task.Input{DueAt: str("2030-01-08T09:00:00Z")})
			if err != nil || *moved.SeriesStart != time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC) {
				t.Fatalf("update: %v %+v", err, moved)
			}
			_, next, err := w.store.Complete(ctx, sc, tk.ID, "", 0)
			if err != nil || next == nil || !next.DueAt.Equal(time.Date(2030, 1, 14, 9, 0, 0, 0, time.UTC)) {
				t.Fatalf("next: %v %+v", err, next)
			}
			t.Run("while the series scope moves the series", func(t *testing.T) {
				moved, err := w.store.Update(ctx, sc, next.ID, task.Input{DueAt: str("2030-01-16T15:00:00Z"), Scope: "series"})
				if err != nil || *moved.SeriesID != next.ID || moved.Occurrence != 1 || !moved.SeriesStart.Equal(moved.DueAt) {
					t.Fatalf("update: %v %+v", err, moved)
				}
				_, after, err := w.store.Complete(ctx, sc, next.ID, "", 0)
				if err != nil || after == nil || !after.DueAt.Equal(time.Date(2030, 1, 23, 15, 0, 0, 0, time.UTC)) {
					t.Errorf("after: %v %+v", err, after)
				}
			})
		})
		t.Run("me as the assignee is the caller", func(t *testing.T) {
			tk, err := w.store.Update(ctx, w.cast.Boris.Scope, w.t1.ID, task.Input{AssignedTo: task.OptAssignee{Set: true, Me: true}})
			if err != nil || tk.AssignedTo != w.cast.Boris.ID {
				t.Errorf("update: %v %+v", err, tk)
			}
		})
	})
}
