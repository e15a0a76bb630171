package dedup

import (
	"testing"
	"unicode/utf8"
)

func TestNormalizeWebsite(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a full URL gives its domain", "https://www.Romashka.ru/contacts", "romashka.ru"},
		{"a bare domain stays", "romashka.ru", "romashka.ru"},
		{"capitals, a port and a trailing slash go", "ROMASHKA.RU:443/", "romashka.ru"},
		{"http and a query go", "http://romashka.ru?utm_source=x#top", "romashka.ru"},
		{"a trailing dot goes", "romashka.ru.", "romashka.ru"},
		{"www. without a scheme goes", "www.romashka.ru/about", "romashka.ru"},
		{"a subdomain other than www stays", "shop.romashka.ru", "shop.romashka.ru"},
		{"a Cyrillic domain is lower-cased", "https://Ромашка.РФ/", "ромашка.рф"},
		{"a punycode domain is shown in Unicode", "http://xn--80aa3agjl3d.xn--p1ai", "ромашка.рф"},
		{"user info goes", "https://user:pass@romashka.ru/", "romashka.ru"},
		{"a protocol-relative URL gives its domain", "//romashka.ru/x", "romashka.ru"},
		{"surrounding spaces go", "  romashka.ru  ", "romashka.ru"},
		{"a word without a dot is not a domain", "ромашка", ""},
		{"spaces inside are not a domain", "roma shka.ru", ""},
		{"the empty string stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeWebsite(tt.in); got != tt.want {
				t.Errorf("NormalizeWebsite(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNormalizeWebsite(f *testing.F) {
	for _, s := range []string{
		"https://www.Romashka.ru/contacts", "http://xn--80aa3agjl3d.xn--p1ai", "Ромашка.РФ", "www.www.a.ru",
		"xn--.ru", "a@b@c.ru:80", "\xff.ru", "İ.ru", "ǅ.ru", "//", "xn--zz-zzz.xn--p1ai",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := NormalizeWebsite(s)
		if !utf8.ValidString(once) {
			t.Fatalf("NormalizeWebsite(%q) = %q is not UTF-8", s, once)
		}
		if twice := NormalizeWebsite(once); twice != once {
			t.Errorf("NormalizeWebsite is not idempotent on %q: %q then %q", s, once, twice)
		}
	})
}

func BenchmarkNormalizeWebsite(b *testing.B) {
	for b.Loop() {
		NormalizeWebsite("https://www.Romashka.ru/contacts")
	}
}
