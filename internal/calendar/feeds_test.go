package calendar_test

import (
	"context"
	"errors"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/calendar"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestAFeedTokenWorksUntilReplacedOrRevoked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		feeds := calendar.NewFeeds(db)
		owner := func(token string) (int64, error) { return feeds.UserID(ctx, token) }

		first, err := feeds.Enable(ctx, cast.Alisa.Scope)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a new token names its user", func(t *testing.T) {
			if id, err := owner(first); err != nil || id != cast.Alisa.ID {
				t.Fatalf("user %d, %v; want %d", id, err, cast.Alisa.ID)
			}
			if on, err := feeds.Enabled(ctx, cast.Alisa.ID); err != nil || !on {
				t.Fatalf("enabled %v, %v", on, err)
			}
		})
		t.Run("only the token's hash is stored", func(t *testing.T) {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM calendar_feeds WHERE token_hash = $1`, first).Scan(&n); err != nil || n != 0 {
				t.Fatalf("the token itself is stored (%d, %v)", n, err)
			}
		})
		second, err := feeds.Enable(ctx, cast.Alisa.Scope)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a new token replaces the old one", func(t *testing.T) {
			if second == first || len(second) != 43 {
				t.Fatalf("second token %q", second)
			}
			if _, err := owner(first); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("old token: %v, want not found", err)
			}
			if id, err := owner(second); err != nil || id != cast.Alisa.ID {
				t.Fatalf("new token: %d, %v", id, err)
			}
		})
		t.Run("another user's token is their own", func(t *testing.T) {
			vera, err := feeds.Enable(ctx, cast.Vera.Scope)
			if err != nil {
				t.Fatal(err)
			}
			if id, err := owner(vera); err != nil || id != cast.Vera.ID {
				t.Fatalf("%d, %v", id, err)
			}
		})
		t.Run("a revoked token is not found", func(t *testing.T) {
			if err := feeds.Disable(ctx, cast.Alisa.Scope); err != nil {
				t.Fatal(err)
			}
			if _, err := owner(second); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("%v, want not found", err)
			}
			if on, _ := feeds.Enabled(ctx, cast.Alisa.ID); on {
				t.Fatal("still enabled")
			}
		})
		t.Run("an inactive user's token is not found", func(t *testing.T) {
			tok, err := feeds.Enable(ctx, cast.Gleb.Scope)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `UPDATE users SET is_active = FALSE WHERE id = $1`, cast.Gleb.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := owner(tok); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("%v, want not found", err)
			}
		})
		t.Run("malformed tokens are not found", func(t *testing.T) {
			for _, tok := range []string{"", "x", second + second} {
				if _, err := owner(tok); !errors.Is(err, apperr.ErrNotFound) {
					t.Errorf("%q: %v", tok, err)
				}
			}
		})
		t.Run("switching on, renewing and off are audited", func(t *testing.T) {
			var on, off int
			err := db.QueryRowContext(ctx, `SELECT
				(SELECT COUNT(*) FROM audit_log WHERE action = 'calendar.enable' AND actor_id = $1),
				(SELECT COUNT(*) FROM audit_log WHERE action = 'calendar.disable' AND actor_id = $1)`, cast.Alisa.ID).Scan(&on, &off)
			if err != nil || on != 2 || off != 1 {
				t.Fatalf("enable %d, disable %d (%v); want 2 and 1", on, off, err)
			}
		})
		t.Run("no one cannot have a feed", func(t *testing.T) {
			if _, err := feeds.Enable(ctx, access.Scope{}); !errors.Is(err, apperr.ErrUnauthenticated) {
				t.Fatalf("%v", err)
			}
		})
	})
}
