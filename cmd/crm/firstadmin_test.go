package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestConfiguredFirstAdmin: CRM_ADMIN_USERNAME / CRM_ADMIN_PASSWORD make
// the first administrator of an empty database, once, and never touch an
// existing user.
func TestConfiguredFirstAdmin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		store := auth.NewStore(db)
		cfg := config.Config{Addr: "127.0.0.1:8000", AdminUsername: "Director", AdminPassword: "первый-пароль-42",
			AdminFirstName: "Ирина", AdminLastName: "Соколова"}
		var out bytes.Buffer
		env := &environment{stdout: &out}
		if err := greet(ctx, env, cfg, db); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Создан первый администратор director") || strings.Contains(out.String(), cfg.AdminPassword) {
			t.Fatalf("output %q", out.String())
		}
		u, err := store.Authenticate(ctx, "director", "первый-пароль-42")
		if err != nil || !u.Scope().IsAdmin() || u.FullName() != "Ирина Соколова" {
			t.Fatalf("%+v %v", u, err)
		}

		t.Run("a second start changes nothing, even with another password", func(t *testing.T) {
			out.Reset()
			again := cfg
			again.AdminPassword = "другой-пароль-43"
			if err := greet(ctx, env, again, db); err != nil || out.Len() != 0 {
				t.Fatalf("printed %q, %v", out.String(), err)
			}
			if _, err := store.Authenticate(ctx, "director", "первый-пароль-42"); err != nil {
				t.Fatalf("the first password no longer works: %v", err)
			}
			if n, err := store.Count(ctx); err != nil || n != 1 {
				t.Fatalf("%d users, %v", n, err)
			}
		})
		t.Run("a base with users gets no new one", func(t *testing.T) {
			other := cfg
			other.AdminUsername = "someone"
			if err := greet(ctx, env, other, db); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Authenticate(ctx, "someone", cfg.AdminPassword); err == nil {
				t.Fatal("a second administrator was created")
			}
		})
	})
	t.Run("a weak password is a clear error and creates nobody", func(t *testing.T) {
		db := dbtest.New(t, database.SQLite)
		cfg := config.Config{Addr: "127.0.0.1:8000", AdminUsername: "boss", AdminPassword: "123"}
		err := greet(context.Background(), &environment{stdout: &bytes.Buffer{}}, cfg, db)
		if err == nil || !strings.Contains(err.Error(), "CRM_ADMIN_PASSWORD") || !strings.Contains(err.Error(), "не короче 8 символов") {
			t.Fatalf("err = %v", err)
		}
		if n, _ := auth.NewStore(db).Count(context.Background()); n != 0 {
			t.Fatalf("%d users", n)
		}
	})
	t.Run("one of the pair alone is refused at start", func(t *testing.T) {
		getenv := func(k string) string {
			switch k {
			case "CRM_ADMIN_USERNAME":
				return "boss"
			case "CRM_DATABASE_URL":
				return "sqlite:" + t.TempDir() + "/crm.db"
			}
			return ""
		}
		err := run(context.Background(), []string{"serve", "--env-file", t.TempDir() + "/none.env"}, getenv, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "CRM_ADMIN_USERNAME and CRM_ADMIN_PASSWORD go together") {
			t.Fatalf("err = %v", err)
		}
	})
}
