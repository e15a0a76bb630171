package dedup

import (
	"testing"
	"unicode/utf8"
)

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"Ivan.Petrov@Example.RU", "mailto:Ivan@Example.ru", "Иван@Почта.РФ", "ivan@example.xn--p1ai",
		"\u200bivan@example.ru\ufeff", "a@b@c.ru", "İ@x.ru", "\xff@x.ru", "mailto:mailto:a@b.ru",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once, ok := NormalizeEmail(s)
		if !ok {
			if once != "" {
				t.Fatalf("NormalizeEmail(%q) = %q but not ok", s, once)
			}
			return
		}
		if !utf8.ValidString(once) {
			t.Fatalf("NormalizeEmail(%q) = %q is not UTF-8", s, once)
		}
		twice, ok := NormalizeEmail(once)
		if !ok || twice != once {
			t.Errorf("NormalizeEmail is not idempotent on %q: %q then %q, %v", s, once, twice, ok)
		}
	})
}

func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"ООО «Ромашка»", "Pомашка", "и\u0306од", "ЁЛКА-плюс", "\xff", "ǅ", "a\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := NormalizeText(s)
		if !utf8.ValidString(once) {
			t.Fatalf("NormalizeText(%q) = %q is not UTF-8", s, once)
		}
		if twice := NormalizeText(once); twice != once {
			t.Errorf("NormalizeText is not idempotent on %q: %q then %q", s, once, twice)
		}
	})
}
