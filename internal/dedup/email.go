package dedup

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeEmail lower-cases and trims an e-mail address so that one mailbox
// has one key ("Ivan@Example.RU " and "ivan@example.ru" are the same
// contact). ok is false, and the string empty, unless the address looks like
// local@domain.tld: one "@", no spaces or control characters inside, a
// domain of at least two dot-separated labels of letters, digits and
// hyphens, and a top-level domain of two or more letters (or a punycode
// "xn--" label). A "mailto:" prefix, as pasted from a link, is dropped.
//
// Lower-casing the local part is not strictly RFC 5321, but every mail
// service our customers use treats it case-insensitively, and matching
// "Ivan@" with "ivan@" is what duplicate detection needs.
func NormalizeEmail(s string) (string, bool) {
	e := strings.ToLower(strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
	}))
	e = strings.TrimPrefix(e, "mailto:")
	if len(e) > 254 || !utf8.ValidString(e) {
		return "", false
	}
	local, domain, found := strings.Cut(e, "@")
	if !found || !validEmailLocal(local) || !validEmailDomain(domain) {
		return "", false
	}
	return e, true
}

// IsEmailLike reports whether a search query should be looked up as an
// e-mail address: it has an "@". It is deliberately looser than
// NormalizeEmail so that a half-typed "ivan@rom" still searches e-mails.
func IsEmailLike(q string) bool {
	return strings.Contains(q, "@")
}

// validEmailLocal checks the part before "@": 1–64 bytes, no dot at either
// end or twice in a row, nothing that needs quoting.
func validEmailLocal(l string) bool {
	if l == "" || len(l) > 64 || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for _, r := range l {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
			r == utf8.RuneError || strings.ContainsRune(`"(),:;<>@[\]`, r) {
			return false
		}
	}
	return true
}

// domainLabels splits a domain name into its labels when it has at least
// two and each is 1–63 bytes of letters, digits and inner hyphens.
func domainLabels(d string) ([]string, bool) {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return nil, false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return nil, false
		}
		for _, r := range l {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' {
				return nil, false
			}
		}
	}
	return labels, true
}

// validEmailDomain checks the part after "@": labels of letters, digits and
// inner hyphens, at least two of them, the last one a plausible TLD.
func validEmailDomain(d string) bool {
	labels, ok := domainLabels(d)
	if !ok {
		return false
	}
	tld := labels[len(labels)-1]
	if strings.HasPrefix(tld, "xn--") {
		return len(tld) > len("xn--")
	}
	if utf8.RuneCountInString(tld) < 2 {
		return false
	}
	for _, r := range tld {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}
