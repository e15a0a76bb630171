package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
)

// runCrm calls run as the binary would, with a temporary SQLite database.
func runCrm(t *testing.T, dbURL, stdin string, args ...string) (string, error) {
	t.Helper()
	getenv := func(key string) string {
		switch key {
		case "CRM_DATABASE_URL":
			return dbURL
		case "CRM_SECRET_KEY":
			return strings.Repeat("s", 32)
		}
		return ""
	}
	var out, errOut bytes.Buffer
	args = append(args, "--env-file", filepath.Join(t.TempDir(), "none.env"))
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func TestCreateSuperuser(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "crm.db")
	out, err := runCrm(t, dbURL, "", "createsuperuser", "--username", "Boss", "--password", "очень-надёжный",
		"--first-name", "Ирина", "--last-name", "Соколова", "--email", "boss@example.ru")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "Администратор boss создан" {
		t.Fatalf("output %q", out)
	}
	db, err := database.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	u, err := auth.NewStore(db).Authenticate(context.Background(), "boss", "очень-надёжный")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Scope().IsAdmin() || u.FullName() != "Ирина Соколова" || u.Email != "boss@example.ru" {
		t.Fatalf("%+v", u)
	}

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"an existing login is a clear error", []string{"--username", "BOSS", "--password", "очень-надёжный", "--first-name", "И", "--last-name", "С"},
			"Пользователь с таким логином уже существует"},
		{"missing flags without a terminal are named", []string{"--username", "x"}, "--first-name, --last-name, --password"},
		{"a weak password is refused", []string{"--username", "y", "--password", "123", "--first-name", "И", "--last-name", "С"},
			"Пароль должен быть не короче 10 символов"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runCrm(t, dbURL, "", append([]string{"createsuperuser"}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
}

func TestEnsureFirstAdmin(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "crm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	env := &environment{stdout: &out}
	if err := ensureFirstAdmin(ctx, env, db, "http://127.0.0.1:8000/"); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"http://127.0.0.1:8000/", "Логин:  admin", "смените пароль в профиле после входа"} {
		if !strings.Contains(text, want) {
			t.Errorf("box lacks %q:\n%s", want, text)
		}
	}
	var password string
	for _, line := range strings.Split(text, "\n") {
		if _, after, ok := strings.Cut(line, "Пароль: "); ok {
			password = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(after), "║"))
		}
	}
	if len(password) != 12 {
		t.Fatalf("password %q", password)
	}
	u, err := auth.NewStore(db).Authenticate(ctx, "admin", password)
	if err != nil || u.FullName() != "Администратор Системы" || !u.Scope().IsAdmin() {
		t.Fatalf("%+v %v", u, err)
	}

	out.Reset()
	if err := ensureFirstAdmin(ctx, env, db, "http://127.0.0.1:8000/"); err != nil || out.Len() != 0 {
		t.Fatalf("second start printed %q, %v", out.String(), err)
	}
}
