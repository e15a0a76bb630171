package live

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// emit writes one durable event for userID in its own committed
// transaction.
func emit(t *testing.T, db *database.DB, userID int64, typ string, v any) Event {
	t.Helper()
	var e Event
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		e, err = Emit(context.Background(), tx, userID, typ, v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// attached is a hub reading db's durable events, closed at the test's end.
func attached(t *testing.T, db *database.DB) *Hub {
	t.Helper()
	h := NewHub()
	h.Attach(db, nil)
	t.Cleanup(h.Close)
	return h
}

// quiet fails when an event arrives on sub within d.
func quiet(t *testing.T, sub *Subscription, d time.Duration) {
	t.Helper()
	select {
	case e, ok := <-sub.C:
		if ok {
			t.Fatalf("unexpected event %+v", e)
		}
	case <-time.After(d):
	}
}

func TestDurableEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()

		t.Run("an event emitted in a committed transaction arrives, one in a rolled-back one never", func(t *testing.T) {
			h := attached(t, db)
			sub, _, _ := subscribe(t, h, 1, Cursor{})
			defer sub.Close()
			errRollback := errors.New("the change failed")
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := Emit(ctx, tx, 1, "task", map[string]any{"id": 1, "change": "created"}); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
			kept := emit(t, db, 1, "task", map[string]any{"id": 2, "change": "created"})
			if got := receive(t, sub); got.ID != kept.ID || string(got.Data) != `{"change":"created","id":2}` || got.Type != "task" {
				t.Fatalf("got %+v, want the committed event %d", got, kept.ID)
			}
			quiet(t, sub, 300*time.Millisecond)
		})

		t.Run("an event arrives only once its transaction commits", func(t *testing.T) {
			h := attached(t, db)
			sub, _, _ := subscribe(t, h, 2, Cursor{})
			defer sub.Close()
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			e, err := Emit(ctx, tx, 2, "unread", map[string]int{"count": 1})
			if err != nil {
				t.Fatal(err)
			}
			if db.Dialect == database.Postgres {
				// SQLite's single writer is busy until the commit; on
				// PostgreSQL the other processes go on and see nothing.
				quiet(t, sub, 300*time.Millisecond)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			// A commit outside InTx (a command's) is found by SQLite's
			// slow look, within a second.
			select {
			case got := <-sub.C:
				if got.ID != e.ID {
					t.Fatalf("got %+v, want %d", got, e.ID)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the committed event did not arrive")
			}
		})

		t.Run("a reconnect replays the events after its Last-Event-ID from the outbox, after a restart too", func(t *testing.T) {
			seen := emit(t, db, 3, "task", map[string]any{"id": 1})
			emit(t, db, 4, "task", map[string]any{"id": 9}) // someone else's
			missed1 := emit(t, db, 3, "task", map[string]any{"id": 2})
			emit(t, db, 3, typeEnd, endData{}) // control events are never replayed
			missed2 := emit(t, db, 3, "unread", map[string]int{"count": 4})
			restarted := attached(t, db) // a new process: nothing in memory
			sub, replay, gap := subscribe(t, restarted, 3, Cursor{Given: true, Outbox: seen.ID})
			defer sub.Close()
			if gap || len(replay) != 2 || replay[0].ID != missed1.ID || replay[1].ID != missed2.ID ||
				string(replay[1].Data) != `{"count":4}` || replay[1].Type != "unread" {
				t.Fatalf("replay %+v, gap %v; want events %d and %d", replay, gap, missed1.ID, missed2.ID)
			}
			if _, replay, gap := subscribe(t, restarted, 3, Cursor{Given: true, Outbox: missed2.ID}); gap || len(replay) != 0 {
				t.Fatalf("up to date: replay %+v, gap %v", replay, gap)
			}
		})

		t.Run("a Last-Event-ID older than the purged events asks for a reset", func(t *testing.T) {
			first := emit(t, db, 5, "task", map[string]any{"id": 1})
			emit(t, db, 5, "task", map[string]any{"id": 2})
			last := emit(t, db, 5, "task", map[string]any{"id": 3})
			n, err := Purge(ctx, db, time.Now().Add(time.Hour))
			if err != nil || n == 0 {
				t.Fatalf("purged %d, %v", n, err)
			}
			h := attached(t, db)
			_, replay, gap := subscribe(t, h, 5, Cursor{Given: true, Outbox: first.ID})
			if !gap || len(replay) != 1 || replay[0].ID != last.ID {
				t.Fatalf("replay %+v, gap %v; want the kept newest event and a gap", replay, gap)
			}
		})

		t.Run("ending a session's streams ends those and no others", func(t *testing.T) {
			h := attached(t, db)
			mine, _, _, err := h.Subscribe(ctx, 6, Cursor{}, "session-a")
			if err != nil {
				t.Fatal(err)
			}
			other, _, _, err := h.Subscribe(ctx, 6, Cursor{}, "session-b")
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			tx := mustTx(t, db)
			if err := EndStreams(ctx, tx, 6, "session-a"); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			select {
			case _, ok := <-mine.C:
				if ok {
					t.Fatal("an event instead of the end")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the signed-out session's stream is still open")
			}
			if h.Subscribers(6) != 1 {
				t.Fatalf("%d subscriptions left, want the other session's", h.Subscribers(6))
			}
			tx = mustTx(t, db)
			if err := EndStreams(ctx, tx, 6, ""); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if _, ok := <-other.C; ok {
				t.Fatal("an event instead of the end of every stream")
			}
		})
	})
}

func mustTx(t *testing.T, db *database.DB) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

// On PostgreSQL two processes serve one database: an event emitted
// through one reaches a page connected to the other.
func TestAnEventEmittedInOneProcessReachesASubscriberOfAnother(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		if d != database.Postgres {
			continue
		}
		url := dbtest.URL(t, d)
		open := func() *database.DB {
			db, err := database.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}
		dbA, dbB := open(), open()
		hubA, hubB := attached(t, dbA), attached(t, dbB)
		onB, _, _ := subscribe(t, hubB, 1, Cursor{})
		defer onB.Close()
		onA, _, _ := subscribe(t, hubA, 1, Cursor{})
		defer onA.Close()
		e := emit(t, dbA, 1, "notification", map[string]any{"id": 1, "title": "Вы назначены ответственным: ООО «Ромашка»"})
		for name, sub := range map[string]*Subscription{"the other process": onB, "the emitting process": onA} {
			if got := receive(t, sub); got.ID != e.ID || string(got.Data) != string(e.Data) {
				t.Fatalf("%s got %+v, want %d %s", name, got, e.ID, e.Data)
			}
		}
		// A large event travels by id and is read from the table.
		big := make([]byte, 9000)
		for i := range big {
			big[i] = 'я' % 128
		}
		e = emit(t, dbA, 1, "notification", map[string]any{"body": string(big)})
		if got := receive(t, onB); got.ID != e.ID || len(got.Data) != len(e.Data) {
			t.Fatalf("the large event: got id %d, %d bytes; want %d, %d bytes", got.ID, len(got.Data), e.ID, len(e.Data))
		}
	}
}
