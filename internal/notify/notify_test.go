package notify_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/notify"
)

// add writes n in its own transaction.
func add(t *testing.T, db *database.DB, n notify.Notification) (notify.Notification, bool) {
	t.Helper()
	var added bool
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		n, added, err = notify.Add(context.Background(), tx, n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, added
}

func unread(t *testing.T, s *notify.Store, userID int64) int {
	t.Helper()
	n, err := s.UnreadCount(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// events lists the live events of userID in the outbox, oldest first.
func events(t *testing.T, db *database.DB, userID int64) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT type, data FROM live_events WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var typ, data string
		if err := rows.Scan(&typ, &data); err != nil {
			t.Fatal(err)
		}
		out = append(out, typ+" "+data)
	}
	return out
}

func TestTheNotificationsStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := notify.NewStore(db)
		alisa, boris, vera := cast.Alisa, cast.Boris, cast.Vera
		assigned := func(to, by int64) notify.Notification {
			return notify.Notification{Kind: notify.KindCompanyResponsible, Title: "Вы назначены ответственным: ООО «Ромашка»",
				URL: "/companies/7/", UserID: to, ActorID: by, ObjectType: "company", ObjectID: 7}
		}

		t.Run("a notification for someone else is stored and announced to them live", func(t *testing.T) {
			n, added := add(t, db, assigned(alisa.ID, boris.ID))
			if !added || n.ID == 0 || n.IsRead || n.CreatedAt.IsZero() {
				t.Fatalf("added %v: %+v", added, n)
			}
			got, err := s.Get(ctx, alisa.ID, n.ID)
			if err != nil || got.Title != n.Title || got.URL != "/companies/7/" || got.ActorID != boris.ID || got.ObjectID != 7 {
				t.Fatalf("stored %+v, %v", got, err)
			}
			if c := unread(t, s, alisa.ID); c != 1 {
				t.Fatalf("unread %d, want 1", c)
			}
			ev := events(t, db, alisa.ID)
			if len(ev) != 2 || ev[1] != `unread {"count":1}` || ev[0][:13] != "notification " {
				t.Fatalf("live events %q, want the notification and the count", ev)
			}
		})

		t.Run("never for my own actions", func(t *testing.T) {
			before := unread(t, s, boris.ID)
			if _, added := add(t, db, assigned(boris.ID, boris.ID)); added {
				t.Fatal("a notification for the actor's own action was added")
			}
			if c := unread(t, s, boris.ID); c != before || len(events(t, db, boris.ID)) != 0 {
				t.Fatalf("unread %d, events %q", c, events(t, db, boris.ID))
			}
		})

		t.Run("never for an inactive recipient", func(t *testing.T) {
			if _, err := db.ExecContext(ctx, `UPDATE users SET is_active = FALSE WHERE id = $1`, cast.Darya.ID); err != nil {
				t.Fatal(err)
			}
			if _, added := add(t, db, assigned(cast.Darya.ID, boris.ID)); added {
				t.Fatal("an inactive user got a notification")
			}
			if _, added := add(t, db, assigned(999999, boris.ID)); added {
				t.Fatal("an unknown user got a notification")
			}
		})

		t.Run("a dedup key makes a notification exactly once, per recipient", func(t *testing.T) {
			due := notify.Notification{Kind: notify.KindTaskDue, Title: "Срок задачи наступил: Позвонить", UserID: vera.ID,
				Key: "task.due:5:1764756000"}
			first, added := add(t, db, due)
			if !added {
				t.Fatal("the first was not added")
			}
			if again, added := add(t, db, due); added || again.ID != 0 {
				t.Fatalf("the second with the same key was added: %+v", again)
			}
			due.UserID = cast.Gleb.ID
			if _, added := add(t, db, due); !added {
				t.Fatal("the same key for another recipient was refused")
			}
			if c := unread(t, s, vera.ID); c != 1 {
				t.Fatalf("Вера has %d unread, want 1 (%d)", c, first.ID)
			}
		})

		t.Run("a rolled-back change leaves neither the notification nor its events", func(t *testing.T) {
			before, eventsBefore := unread(t, s, cast.Gleb.ID), len(events(t, db, cast.Gleb.ID))
			fail := errors.New("the change failed")
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				if _, _, err := notify.Add(ctx, tx, assigned(cast.Gleb.ID, alisa.ID)); err != nil {
					return err
				}
				return fail
			})
			if !errors.Is(err, fail) || unread(t, s, cast.Gleb.ID) != before || len(events(t, db, cast.Gleb.ID)) != eventsBefore {
				t.Fatalf("err %v; the rollback left traces", err)
			}
		})

		t.Run("marking read is for the owner only: another's is not found", func(t *testing.T) {
			n, _ := add(t, db, assigned(alisa.ID, vera.ID))
			if _, err := s.MarkRead(ctx, vera.ID, n.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("Вера marking Алиса's: %v, want not found", err)
			}
			if _, err := s.Get(ctx, vera.ID, n.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("Вера reading Алиса's: %v, want not found", err)
			}
			before := unread(t, s, alisa.ID)
			count, err := s.MarkRead(ctx, alisa.ID, n.ID)
			if err != nil || count != before-1 {
				t.Fatalf("MarkRead: count %d, %v; want %d", count, err, before-1)
			}
			if count, err := s.MarkRead(ctx, alisa.ID, n.ID); err != nil || count != before-1 {
				t.Fatalf("marking it again: %d, %v", count, err)
			}
			if _, err := s.MarkRead(ctx, alisa.ID, 987654); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("a missing one: %v", err)
			}
		})

		t.Run("the list pages newest first and filters by read state; read-all empties the count", func(t *testing.T) {
			for range 3 {
				add(t, db, assigned(alisa.ID, boris.ID))
			}
			all, total, err := s.List(ctx, alisa.ID, notify.Filter{Page: 1, Size: 2})
			if err != nil || total < 4 || len(all) != 2 || all[0].ID < all[1].ID {
				t.Fatalf("page 1: %d of %d, %v", len(all), total, err)
			}
			no := false
			unreadOnly, count, err := s.List(ctx, alisa.ID, notify.Filter{Unread: ptr(true), Page: 1, Size: 50})
			if err != nil || count != unread(t, s, alisa.ID) || len(unreadOnly) != count {
				t.Fatalf("unread only: %d (count %d), %v", len(unreadOnly), count, err)
			}
			if err := s.MarkAllRead(ctx, alisa.ID); err != nil {
				t.Fatal(err)
			}
			if c := unread(t, s, alisa.ID); c != 0 {
				t.Fatalf("unread %d after read-all", c)
			}
			if ev := events(t, db, alisa.ID); ev[len(ev)-1] != `unread {"count":0}` {
				t.Fatalf("the last live event %q, want the zero count", ev[len(ev)-1])
			}
			read, count, err := s.List(ctx, alisa.ID, notify.Filter{Unread: &no, Size: 50})
			if err != nil || count != total || len(read) != total {
				t.Fatalf("read: %d of %d (total %d), %v", len(read), count, total, err)
			}
			if others, n, err := s.List(ctx, boris.ID, notify.Filter{Size: 50}); err != nil || n != 0 || len(others) != 0 {
				t.Fatalf("Борис sees %d of Алиса's", n)
			}
			latest, err := s.Latest(ctx, alisa.ID, 10)
			if err != nil || len(latest) != total || latest[0].ID != all[0].ID {
				t.Fatalf("latest %d, %v", len(latest), err)
			}
		})

		t.Run("the purge removes read notifications older than 90 days", func(t *testing.T) {
			old, _ := add(t, db, assigned(boris.ID, alisa.ID))
			fresh, _ := add(t, db, assigned(boris.ID, alisa.ID))
			unreadOld, _ := add(t, db, assigned(boris.ID, alisa.ID))
			if err := s.MarkAllRead(ctx, boris.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `UPDATE notifications SET read_at = $1 WHERE id = $2`,
				time.Now().Add(-91*24*time.Hour).UTC(), old.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `UPDATE notifications SET is_read = FALSE, read_at = NULL, created_at = $1 WHERE id = $2`,
				time.Now().Add(-200*24*time.Hour).UTC(), unreadOld.ID); err != nil {
				t.Fatal(err)
			}
			n, err := s.Purge(ctx, time.Now().Add(-notify.ReadRetention))
			if err != nil || n != 1 {
				t.Fatalf("purged %d, %v; want 1", n, err)
			}
			if _, err := s.Get(ctx, boris.ID, old.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatal("the old read one is still there")
			}
			for _, id := range []int64{fresh.ID, unreadOld.ID} {
				if _, err := s.Get(ctx, boris.ID, id); err != nil {
					t.Fatalf("%d: %v", id, err)
				}
			}
		})
	})
}

func ptr[T any](v T) *T { return &v }
