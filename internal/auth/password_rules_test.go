package auth_test

import (
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/auth"
)

func TestPasswordRules(t *testing.T) {
	cases := []struct {
		name, password, login, want string
	}{
		{"the demo password passes", "demo-пароль", "demo-manager-1-1", ""},
		{"the cast's password passes", "пароль-для-тестов", "alisa", ""},
		{"a long passphrase passes", "Ромашка-2026!", "anna", ""},
		{"a short password is refused", "Кот-1234", "anna", "не короче 10 символов"},
		{"nine letters are too few", "абвгдежзи", "", "не короче 10 символов"},
		{"spaces only are refused", "            ", "", "Введите пароль"},
		{"one repeated character is refused", "ааааааааааааа", "", "одного повторяющегося символа"},
		{"the login itself is refused", "ivan.petrov", "Ivan.Petrov", "логином"},
		{"a password containing the login is refused", "2026-IVAN-PETROV!", "ivan-petrov", "логином"},
		{"a common password is refused", "qwertyuiop", "anna", "распространён"},
		{"a common Russian keyboard row is refused", "ЙцукенгШщз", "anna", "распространён"},
		{"a common word with digits added is refused", "пароль123456", "anna", "распространён"},
		{"a common word typed in the Latin layout is refused", "gfhjkm2026!", "anna", "распространён"},
		{"digits in a row are refused", "1234567890", "anna", "распространён"},
		{"an over-long password is refused", strings.Repeat("ab", 200), "", "слишком длинный"},
		{"invalid UTF-8 is refused", "пароль-\xff\xfe-длинный", "", "недопустимые символы"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := auth.ValidatePassword(c.password, c.login)
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Fatalf("ValidatePassword(%q, %q) = %q, want %q", c.password, c.login, got, c.want)
			}
		})
	}
}

func FuzzValidatePassword(f *testing.F) {
	for _, s := range []string{"demo-пароль", "qwertyuiop", "", "ааааааааааа", "\xff", "пароль123"} {
		f.Add(s, "anna")
	}
	f.Fuzz(func(t *testing.T, password, login string) {
		msg := auth.ValidatePassword(password, login)
		if msg == "" && len([]rune(password)) < auth.MinPasswordLength {
			t.Fatalf("%q accepted though short", password)
		}
	})
}
