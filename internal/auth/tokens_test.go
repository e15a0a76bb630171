package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable time for tokens and throttles.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func newTokens(db *database.DB) (*auth.Tokens, *clock) {
	c := &clock{now: time.Now().UTC().Truncate(time.Second)}
	t := auth.NewTokens(db, secret, time.Minute, time.Hour)
	t.Now = c.Now
	return t, c
}

func TestAccessTokenCarriesTheUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		tokens, _ := newTokens(db)
		pair, err := tokens.Issue(context.Background(), cast.Alisa.ID)
		if err != nil {
			t.Fatal(err)
		}
		id, err := tokens.UserID(pair.Access)
		if err != nil || id != cast.Alisa.ID {
			t.Fatalf("UserID = %d, %v; want %d", id, err, cast.Alisa.ID)
		}
		var claims jwt.MapClaims
		if _, _, err := jwt.NewParser().ParseUnverified(pair.Access, &claims); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"token_type", "user_id", "jti", "iat", "exp"} {
			if _, ok := claims[k]; !ok {
				t.Errorf("access token lacks claim %q: %v", k, claims)
			}
		}
		if claims["token_type"] != "access" {
			t.Errorf("token_type = %v", claims["token_type"])
		}
	})
}

func TestTokensAreRefusedWhenTheyShouldBe(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		tokens, clk := newTokens(db)
		ctx := context.Background()
		pair, err := tokens.Issue(ctx, cast.Boris.ID)
		if err != nil {
			t.Fatal(err)
		}
		other := auth.NewTokens(db, []byte("another secret of enough length!"), time.Minute, time.Hour)
		forged, _ := other.Issue(ctx, cast.Boris.ID)
		none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"token_type": "access", "user_id": cast.Admin.ID, "jti": "x",
			"exp": clk.now.Add(time.Hour).Unix(), "iat": clk.now.Unix()})
		unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

		cases := []struct {
			name  string
			check func() error
		}{
			{"a refresh token is not an access token", func() error { _, err := tokens.UserID(pair.Refresh); return err }},
			{"an access token is not a refresh token", func() error { _, err := tokens.Refresh(ctx, pair.Access); return err }},
			{"a token signed with another key is refused", func() error { _, err := tokens.UserID(forged.Access); return err }},
			{"an unsigned token is refused", func() error { _, err := tokens.UserID(unsigned); return err }},
			{"garbage is refused", func() error { _, err := tokens.UserID("not.a.token"); return err }},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if err := c.check(); !errors.Is(err, auth.ErrTokenInvalid) || !errors.Is(err, apperr.ErrUnauthenticated) {
					t.Fatalf("err = %v, want ErrTokenInvalid", err)
				}
			})
		}

		t.Run("an expired access token is refused", func(t *testing.T) {
			clk.Advance(2 * time.Minute)
			if _, err := tokens.UserID(pair.Access); !errors.Is(err, auth.ErrTokenInvalid) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("an expired refresh token is refused", func(t *testing.T) {
			clk.Advance(2 * time.Hour)
			if _, err := tokens.Refresh(ctx, pair.Refresh); !errors.Is(err, auth.ErrTokenInvalid) {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestRefreshTokensRotate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		tokens, _ := newTokens(db)
		ctx := context.Background()
		first, err := tokens.Issue(ctx, cast.Vera.ID)
		if err != nil {
			t.Fatal(err)
		}
		second, err := tokens.Refresh(ctx, first.Refresh)
		if err != nil {
			t.Fatalf("first refresh: %v", err)
		}
		if second.Refresh == first.Refresh || second.Access == first.Access {
			t.Fatal("refresh returned the same tokens")
		}
		if id, err := tokens.UserID(second.Access); err != nil || id != cast.Vera.ID {
			t.Fatalf("new access: %d, %v", id, err)
		}

		t.Run("a spent refresh token is refused", func(t *testing.T) {
			if _, err := tokens.Refresh(ctx, first.Refresh); !errors.Is(err, auth.ErrTokenInvalid) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("its reuse revokes the user's newer refresh tokens too", func(t *testing.T) {
			if _, err := tokens.Refresh(ctx, second.Refresh); !errors.Is(err, auth.ErrTokenInvalid) {
				t.Fatalf("err = %v: the token issued before the theft signal should be dead", err)
			}
		})
		t.Run("other users keep their tokens", func(t *testing.T) {
			p, err := tokens.Issue(ctx, cast.Gleb.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tokens.Refresh(ctx, p.Refresh); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestBlacklistKillsARefreshToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		tokens, _ := newTokens(db)
		ctx := context.Background()
		pair, err := tokens.Issue(ctx, cast.Gleb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := tokens.Blacklist(ctx, pair.Refresh); err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Refresh(ctx, pair.Refresh); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("refresh after blacklist: %v", err)
		}
		if err := tokens.Blacklist(ctx, "junk"); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("blacklist of junk: %v", err)
		}
	})
}

func TestDeactivationRevokesRefreshTokensAndSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		tokens, _ := newTokens(db)
		store := auth.NewStore(db)
		ctx := context.Background()
		pair, err := tokens.Issue(ctx, cast.Alisa.ID)
		if err != nil {
			t.Fatal(err)
		}
		session, err := store.CreateSession(ctx, cast.Alisa.ID, time.Hour, "", "")
		if err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := store.Update(ctx, cast.Admin.Scope, cast.Alisa.ID, auth.UserInput{IsActive: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Refresh(ctx, pair.Refresh); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Errorf("refresh after deactivation: %v", err)
		}
		if _, err := store.UserBySession(ctx, session, time.Hour); !errors.Is(err, apperr.ErrUnauthenticated) {
			t.Errorf("session after deactivation: %v", err)
		}
	})
}

func TestPasswordResetRevokesRefreshTokensAndSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		tokens, _ := newTokens(db)
		store := auth.NewStore(db)
		ctx := context.Background()
		pair, _ := tokens.Issue(ctx, cast.Boris.ID)
		session, _ := store.CreateSession(ctx, cast.Boris.ID, time.Hour, "", "")
		if err := store.ResetPassword(ctx, cast.Admin.Scope, cast.Boris.ID, "новый-пароль-1", true); err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Refresh(ctx, pair.Refresh); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Errorf("refresh after reset: %v", err)
		}
		if _, err := store.UserBySession(ctx, session, time.Hour); !errors.Is(err, apperr.ErrUnauthenticated) {
			t.Errorf("session after reset: %v", err)
		}
		if _, err := store.Authenticate(ctx, "boris", "новый-пароль-1"); err != nil {
			t.Errorf("sign-in with the new password: %v", err)
		}
		if _, err := store.Authenticate(ctx, "boris", dbtest.CastPassword); !errors.Is(err, apperr.ErrUnauthenticated) {
			t.Errorf("sign-in with the old password: %v", err)
		}
	})
}
