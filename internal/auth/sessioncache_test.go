package auth

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// cachedStore is a Store with a session cache switched on by hand, no
// listener: what it forgets, the test tells it.
func cachedStore(t *testing.T, db *database.DB) (*Store, *SessionCache) {
	t.Helper()
	s := NewStore(db)
	c := NewSessionCache(db, slog.New(slog.DiscardHandler))
	c.setListening(true)
	s.UseCache(c)
	return s, c
}

// TestCachedSessionKeepsItsTouchAndExpiry: a remembered session costs no
// statement until it is due for its 10-minute touch or past its expiry;
// then the request reads the database as without the cache: the touch
// slides the expiry, an expired session is refused and deleted.
func TestCachedSessionKeepsItsTouchAndExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s, c := cachedStore(t, db)
		token, err := s.CreateSession(ctx, cast.Alisa.ID, time.Hour, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		h := hashToken(token)
		statements := func() int64 {
			t.Helper()
			before := db.Statements()
			u, err := s.CachedUserBySession(ctx, token, time.Hour)
			if err != nil || u.ID != cast.Alisa.ID {
				t.Fatalf("user %+v, %v", u, err)
			}
			return db.Statements() - before
		}
		if n := statements(); n != 1 {
			t.Fatalf("the first request: %d statements, want 1", n)
		}
		if n := statements(); n != 0 {
			t.Fatalf("a known session: %d statements, want 0", n)
		}
		// Its last use 11 minutes ago: the database, and the touch.
		c.mu.Lock()
		c.sessions[h].seen = database.Now().Add(-11 * time.Minute)
		if _, err := db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1`, c.sessions[h].seen); err != nil {
			t.Fatal(err)
		}
		c.mu.Unlock()
		if n := statements(); n != 2 {
			t.Fatalf("a session due for its touch: %d statements, want 2 (the session and the touch)", n)
		}
		var seen time.Time
		if err := db.QueryRowContext(ctx, `SELECT last_seen_at FROM sessions`).Scan(&seen); err != nil || time.Since(seen) > time.Minute {
			t.Fatalf("last use %v, %v: not touched", seen, err)
		}
		statements()
		// Past its expiry (the database says so too; no one told the cache).
		past := database.Now().Add(-time.Second)
		if _, err := db.ExecContext(ctx, `UPDATE sessions SET expires_at = $1`, past); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.sessions[h].expires = past
		c.mu.Unlock()
		if _, err := s.CachedUserBySession(ctx, token, time.Hour); !errors.Is(err, apperr.ErrUnauthenticated) {
			t.Fatalf("an expired session: %v, want ErrUnauthenticated", err)
		}
		var left int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d sessions left, %v; want the expired one deleted", left, err)
		}
	})
}

// TestSessionCacheRefusesStaleReadingsAndStaysSmall: a reading that began
// before its user was forgotten is not kept (it may predate the change),
// nothing is kept while the cache does not listen, and the cache holds at
// most its bound.
func TestSessionCacheRefusesStaleReadingsAndStaysSmall(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		_, c := cachedStore(t, db)
		e := sessionEntry{user: User{ID: 7}, expires: time.Now().Add(time.Hour), seen: time.Now()}
		gen, _ := c.begin()
		c.forget(7)
		c.keepSession(gen, "a", e)
		if c.Len() != 0 {
			t.Fatal("a reading older than its user's forgetting was kept")
		}
		gen, _ = c.begin()
		c.forget(8)
		c.keepSession(gen, "a", e)
		if c.Len() != 1 {
			t.Fatal("another user's forgetting refused the reading")
		}
		gen, _ = c.begin()
		c.forgetAll()
		c.keepSession(gen, "b", e)
		if c.Len() != 0 {
			t.Fatal("a reading older than forgetting everyone was kept")
		}
		c.setListening(false)
		gen, on := c.begin()
		c.keepSession(gen, "c", e)
		if on || c.Len() != 0 {
			t.Fatal("kept while not listening")
		}
		c.Sync(context.Background()) // returns at once: nothing to wait for
		c.setListening(true)
		c.max = 3
		for i, h := range []string{"1", "2", "3", "4", "5"} {
			gen, _ := c.begin()
			c.keepSession(gen, h, sessionEntry{user: User{ID: int64(i)}, expires: e.expires, seen: e.seen})
			c.keepUser(gen, User{ID: int64(100 + i)})
		}
		if n := c.Len(); n > 3 {
			t.Fatalf("%d entries, want at most 3", n)
		}
		for id, set := range c.byUser {
			for h := range set {
				if _, ok := c.sessions[h]; !ok {
					t.Errorf("user %d indexes session %q that is gone", id, h)
				}
			}
		}
	})
}

// TestSyncWithoutAnAnswerForgetsEverything: a Sync whose NOTIFY does not
// come back (here no listener runs; on SQLite there is no NOTIFY at all)
// cannot prove the writes before it were heard of, so the cache forgets
// everything rather than serve what they may have changed.
func TestSyncWithoutAnAnswerForgetsEverything(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		_, c := cachedStore(t, db)
		gen, _ := c.begin()
		c.keepSession(gen, "a", sessionEntry{user: User{ID: 7}, expires: time.Now().Add(time.Hour), seen: time.Now()})
		c.keepUser(gen, User{ID: 8})
		if c.Len() != 2 {
			t.Fatalf("%d entries kept, want 2", c.Len())
		}
		c.Sync(context.Background())
		if n := c.Len(); n != 0 {
			t.Fatalf("%d entries after an unanswered Sync, want none", n)
		}
	})
}
