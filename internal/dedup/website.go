package dedup

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// NormalizeWebsite reduces a website as people type it to its domain, the
// key two companies share when they are one: the scheme, user info, port,
// path, query and fragment go, letters are lower-cased, a leading "www."
// and a trailing dot are dropped, and a punycode domain is shown in
// Unicode, so "https://www.Romashka.ru/contacts", "romashka.ru" and
// "ROMASHKA.RU:443/" give "romashka.ru", and "xn--80aa3agjl3d.xn--p1ai" and
// "Ромашка.РФ" give "ромашка.рф". Anything that does not look like a
// domain (no dot, spaces, symbols) gives "".
//
//	NormalizeWebsite("https://www.Romashka.ru/contacts") == "romashka.ru"
func NormalizeWebsite(s string) string {
	h := strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) })
	if !utf8.ValidString(h) {
		return ""
	}
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	} else if rest, ok := strings.CutPrefix(strings.ToLower(h), "//"); ok {
		h = rest
	}
	if i := strings.IndexAny(h, "/?#\\"); i >= 0 {
		h = h[:i]
	}
	if i := strings.LastIndexByte(h, '@'); i >= 0 {
		h = h[i+1:]
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if strings.Contains(h, "xn--") {
		if u, err := idna.Punycode.ToUnicode(h); err == nil {
			h = strings.ToLower(u)
		}
	}
	for {
		rest, ok := strings.CutPrefix(h, "www.")
		if !ok {
			break
		}
		h = rest
	}
	if !validDomain(h) {
		return ""
	}
	return h
}

// validDomain reports whether h is dot-separated labels of letters,
// digits and inner hyphens, at least two of them.
func validDomain(h string) bool {
	if len(h) > 253 {
		return false
	}
	if _, ok := domainLabels(h); !ok {
		return false
	}
	// A letter that lower-casing changes (or that has no lower case, like
	// Georgian Mtavruli) would make the key drift.
	for _, r := range h {
		if unicode.IsLetter(r) && unicode.ToLower(r) != r {
			return false
		}
	}
	return !strings.HasPrefix(h, "xn--") && !strings.Contains(h, ".xn--") || idnaRoundTrip(h)
}

// idnaRoundTrip accepts a punycode label that could not be decoded only
// when decoding it again still fails the same way: the key stays stable.
func idnaRoundTrip(h string) bool {
	_, err := idna.Punycode.ToUnicode(h)
	return err != nil
}
