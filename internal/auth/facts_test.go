package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestRequestFactsComeWithTheUser: the session's user and a token's user
// carry the dictionaries' number and whether they have an active phone,
// read in the same statement; signing in does not change the number
// (sign-ins must not throw away every process's dictionaries).
func TestRequestFactsComeWithTheUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		store := auth.NewStore(db)
		var version int64
		if err := db.QueryRowContext(ctx, `SELECT version FROM dictionary_version`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Authenticate(ctx, cast.Alisa.Username, dbtest.CastPassword); err != nil {
			t.Fatal(err)
		}
		token, err := store.CreateSession(ctx, cast.Alisa.ID, time.Hour, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, phone bool) {
			t.Helper()
			bySession, err := store.UserBySession(ctx, token, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			byID, err := store.RequestUser(ctx, cast.Alisa.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := auth.RequestFacts{DictionaryVersion: version, Phone: phone, PhoneKnown: true}
			for _, u := range []*auth.User{bySession, byID} {
				if u.Request != want {
					t.Errorf("%s: %+v, want %+v", what, u.Request, want)
				}
			}
		}
		check("after signing in", false)
		if _, err := db.ExecContext(ctx, `INSERT INTO phone_devices (user_id, name, token_hash, status, created_at)
			VALUES ($1, 'Pixel', 'h', 'active', CURRENT_TIMESTAMP)`, cast.Alisa.ID); err != nil {
			t.Fatal(err)
		}
		check("with a phone", true)
	})
}
