package dedup

import (
	"strings"
	"unicode/utf8"
)

// Phone is a phone number in the one form that is stored, indexed and
// compared: E164 is "+" and 8–15 digits ("+74951234567"), Ext the digits of
// an extension ("123") or "". Two ways of typing one number give equal
// Phones, so E164 is the key for finding duplicates.
type Phone struct {
	E164 string
	Ext  string
}

// maxPhoneDigits bounds how many digits NormalizePhone collects: 15 for
// E.164 plus a 3-digit international prefix ("810").
const maxPhoneDigits = 18

// NormalizePhone turns a phone number as people type it into E.164 with the
// extension apart. ok is false when the input is not a usable phone number
// — too short or too long, letters or stray symbols in it, two numbers in
// one field — so that callers keep the raw text and flag it rather than
// store a wrong number.
//
// The number may be written with spaces, dots, dashes and brackets. Russian
// rules: 11 digits starting with 8 or 7 ("8 (495) 123-45-67",
// "7 916 123 45 67", "8-800-…") and 10 digits starting with 9, 3, 4, 8 or
// 7 ("495 123-45-67", "9161234567", a Kazakh "(701) 123-45-67" — the +7
// zone is shared) become +7 and the ten national digits.
// A number with +7 must have ten national digits, the first of them 3–9
// (the Russian and Kazakh ranges). Other countries: a leading "+", or the
// international prefix "00" or "810", keeps the country code as given, and
// the whole number must have 8–15 digits and not start with 0.
//
// An extension may follow a complete number: "доб. 123", "доб 123",
// "д. 123", "доп. 123", "вн. 123", "ext. 123", "ext123", "x123", "#123" or
// ", 123".
func NormalizePhone(raw string) (Phone, bool) {
	s := strings.TrimSpace(raw)
	plus := false
	if strings.HasPrefix(s, "+") {
		plus = true
		s = s[1:]
	}
	var buf [maxPhoneDigits]byte
	n := 0
	i := 0
scan:
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= '0' && r <= '9':
			if n == len(buf) {
				return Phone{}, false
			}
			buf[n] = byte(r)
			n++
		case isPhoneSeparator(r):
		default:
			break scan
		}
		i += size
	}
	e164, ok := phoneE164(string(buf[:n]), plus)
	if !ok {
		return Phone{}, false
	}
	ext, ok := parseExtension(s[i:])
	if !ok {
		return Phone{}, false
	}
	return Phone{E164: e164, Ext: ext}, true
}

// PhoneDigits returns the E.164 form of q when q is a phone number and ""
// otherwise. Search uses it to decide whether a query is a phone (and then
// looks it up by the normalised key) or text.
func PhoneDigits(q string) string {
	p, ok := NormalizePhone(q)
	if !ok {
		return ""
	}
	return p.E164
}

// PhoneSuffixLen is how many trailing digits of a number people remember
// and type on their own: «123-45-67», the subscriber part of a Russian
// number.
const PhoneSuffixLen = 7

// Suffix is the last PhoneSuffixLen digits of the number: the stored,
// indexed key that a search by «123-45-67» looks up. It is "" when E164
// has fewer digits.
func (p Phone) Suffix() string {
	d := strings.TrimPrefix(p.E164, "+")
	if len(d) < PhoneSuffixLen || !allDigits(d) {
		return ""
	}
	return d[len(d)-PhoneSuffixLen:]
}

// PhoneSuffix returns the digits of q when q is the last seven digits of
// a phone number as people write them — «123-45-67», «123 45 67»,
// «1234567» — and "" otherwise. Search uses it to look q up by
// Phone.Suffix. Seven digits are never an ИНН (10 or 12) nor a whole
// number (NormalizePhone wants at least ten), so the three readings of a
// query never overlap.
func PhoneSuffix(q string) string {
	var buf [PhoneSuffixLen]byte
	n := 0
	for _, r := range strings.TrimSpace(q) {
		switch {
		case r >= '0' && r <= '9':
			if n == len(buf) {
				return ""
			}
			buf[n] = byte(r)
			n++
		case isPhoneSeparator(r):
		default:
			return ""
		}
	}
	if n != PhoneSuffixLen {
		return ""
	}
	return string(buf[:])
}

// FormatPhone renders a normalised phone for people: a +7 number as
// "+7 (495) 123-45-67" (toll-free numbers too: "+7 (800) …", not
// "8 (800) …", so one number always looks one way), any other as
// "+<country code> <rest>", and an extension as " доб. 123". The result
// goes back through NormalizePhone to the same Phone. A Phone that is not
// valid E.164 is shown as it is.
func FormatPhone(p Phone) string {
	e := p.E164
	var out string
	switch {
	case len(e) == 12 && strings.HasPrefix(e, "+7") && allDigits(e[1:]):
		out = "+7 (" + e[2:5] + ") " + e[5:8] + "-" + e[8:10] + "-" + e[10:12]
	case len(e) >= 9 && len(e) <= 16 && e[0] == '+' && e[1] != '0' && allDigits(e[1:]):
		cc := countryCodeLen(e[1:])
		out = e[:1+cc] + " " + e[1+cc:]
	default:
		out = e
	}
	if p.Ext != "" {
		out += " доб. " + p.Ext
	}
	return out
}

// isPhoneSeparator reports whether r may stand between the digits of a phone
// number: spaces of all widths, dots, dashes and brackets.
func isPhoneSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\u00a0', '\u2007', '\u2009', '\u202f',
		'.', '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '(', ')':
		return true
	}
	return false
}

// phoneE164 applies the numbering rules of NormalizePhone to the bare digits.
func phoneE164(d string, plus bool) (string, bool) {
	switch {
	case plus:
		return internationalE164(d)
	case strings.HasPrefix(d, "00"):
		return internationalE164(d[2:])
	case strings.HasPrefix(d, "810") && len(d) > 11:
		// Russian trunk prefix for international calls. An 11-digit
		// "810…" is a domestic number with 8, and no such area code exists.
		return internationalE164(d[3:])
	case len(d) == 11 && (d[0] == '8' || d[0] == '7'):
		return russianE164(d[1:])
	case len(d) == 10 && strings.IndexByte("93487", d[0]) >= 0:
		return russianE164(d)
	}
	return "", false
}

// internationalE164 checks digits that start with a country code.
func internationalE164(d string) (string, bool) {
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", false
	}
	if d[0] == '7' {
		if len(d) != 11 {
			return "", false
		}
		return russianE164(d[1:])
	}
	return "+" + d, true
}

// russianE164 checks the ten national digits of a +7 number.
func russianE164(national string) (string, bool) {
	if len(national) != 10 || national[0] < '3' {
		return "", false
	}
	return "+7" + national, true
}

// extensionMarkers are the words and signs that introduce an extension,
// longest first so that "доб" is not read as "д".
var extensionMarkers = []string{
	"добавочный", "extension", "внутр", "ext", "доб", "доп", "вн", "д", "x", "х", "#",
}

// maxExtDigits is the longest extension accepted; longer digit runs are
// more likely a second number than an extension.
const maxExtDigits = 8

// parseExtension reads what follows the number: nothing, trailing commas,
// or one extension. Anything else makes the whole input unusable.
func parseExtension(rest string) (string, bool) {
	rest = strings.ToLower(rest)
	comma := false
	rest = strings.TrimLeftFunc(rest, func(r rune) bool {
		if r == ',' {
			comma = true
		}
		return r == ',' || r == ';' || isPhoneSeparator(r)
	})
	if rest == "" {
		return "", true
	}
	marked := false
	for _, m := range extensionMarkers {
		if strings.HasPrefix(rest, m) {
			rest = rest[len(m):]
			marked = true
			break
		}
	}
	if !marked && !comma {
		return "", false
	}
	rest = strings.TrimLeft(rest, " \t\u00a0.:#№-")
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n > maxExtDigits {
		return "", false
	}
	if strings.Trim(rest[n:], " \t\u00a0.)") != "" {
		return "", false
	}
	return rest[:n], true
}

// countryCodeLen returns how many leading digits of an international number
// are its country code. Codes are prefix-free: 1 and 7 have one digit, the
// two-digit ones are listed, every other code has three.
func countryCodeLen(d string) int {
	if d[0] == '1' || d[0] == '7' {
		return 1
	}
	if strings.Contains(twoDigitCountryCodes, " "+d[:2]+" ") {
		return 2
	}
	return 3
}

// twoDigitCountryCodes are the ITU-T E.164 country codes of two digits.
const twoDigitCountryCodes = " 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 " +
	"51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 "
