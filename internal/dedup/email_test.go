package dedup

import "testing"

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		{"an address is lower-cased", "Ivan.Petrov@Example.RU", "ivan.petrov@example.ru", true},
		{"surrounding spaces are trimmed", "  ivan@example.ru\t", "ivan@example.ru", true},
		{"a zero-width space around it is trimmed", "\u200bivan@example.ru\ufeff", "ivan@example.ru", true},
		{"a mailto prefix is dropped", "mailto:Ivan@Example.ru", "ivan@example.ru", true},
		{"a plus tag is kept", "ivan+crm@example.ru", "ivan+crm@example.ru", true},
		{"a subdomain is fine", "ivan@mail.example.co.uk", "ivan@mail.example.co.uk", true},
		{"a Cyrillic domain is fine", "Иван@Почта.РФ", "иван@почта.рф", true},
		{"a punycode TLD is fine", "ivan@example.xn--p1ai", "ivan@example.xn--p1ai", true},
		{"no @ is not an address", "ivan.example.ru", "", false},
		{"two @ are not an address", "ivan@petrov@example.ru", "", false},
		{"an empty local part is not an address", "@example.ru", "", false},
		{"a domain without a dot is not an address", "ivan@localhost", "", false},
		{"a space inside is not an address", "ivan petrov@example.ru", "", false},
		{"a dot at the end of the domain is not an address", "ivan@example.ru.", "", false},
		{"two dots in the domain are not an address", "ivan@example..ru", "", false},
		{"a one-letter TLD is not an address", "ivan@example.r", "", false},
		{"a numeric TLD is not an address", "ivan@10.0.0.1", "", false},
		{"a domain label with an underscore is not an address", "ivan@my_host.ru", "", false},
		{"a domain label starting with a hyphen is not an address", "ivan@-host.ru", "", false},
		{"two dots in the local part are not an address", "ivan..petrov@example.ru", "", false},
		{"a dot at the start of the local part is not an address", ".ivan@example.ru", "", false},
		{"a comma is not allowed", "ivan,petrov@example.ru", "", false},
		{"two addresses in one field are not an address", "a@example.ru; b@example.ru", "", false},
		{"the empty string is not an address", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeEmail(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestIsEmailLike(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"a half-typed address is e-mail-like", "ivan@rom", true},
		{"a name is not e-mail-like", "Иван Петров", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsEmailLike(tt.in); got != tt.want {
				t.Errorf("IsEmailLike(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
