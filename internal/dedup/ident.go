package dedup

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Messages returned by the validators. They are shown to users beside the
// field, so they are in Russian and name the field.
const (
	msgINNLength   = "ИНН должен состоять из 10 или 12 цифр"
	msgINNChars    = "ИНН содержит недопустимые символы"
	msgINNChecksum = "Неверная контрольная сумма ИНН"
	msgKPPLength   = "КПП должен состоять из 9 символов"
	msgKPPFormat   = "КПП имеет неверный формат"
	msgOGRNLength  = "ОГРН должен состоять из 13 цифр (ОГРНИП — из 15)"
	msgOGRNChars   = "ОГРН содержит недопустимые символы"
	msgOGRNCheck   = "Неверная контрольная сумма ОГРН"
)

// CleanDigits removes the spaces and dashes (and invisible characters such
// as a zero-width space from a copied document) that people put inside and
// around an identifier: "77 07 083893" → "7707083893". Call it before the
// validators and before storing, so that both see the canonical form. It
// keeps every other character, letters included, so that a typo such as a
// letter O for a zero is reported by the validator rather than hidden.
func CleanDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Pd, r) {
			return -1
		}
		return r
	}, s)
}

// IsINNLike reports whether a search query is an ИНН — 10 or 12 digits once
// CleanDigits has run — so that search can look it up by the exact key
// instead of by text. The check digits are not verified: a user searching
// for a mistyped ИНН should still see the company stored with it.
func IsINNLike(q string) bool {
	c := CleanDigits(q)
	return (len(c) == 10 || len(c) == 12) && allDigits(c)
}

// ValidateINN checks an ИНН (taxpayer number) with the check digits of the
// ФНС algorithm: 10 digits for an organisation, 12 for an individual or an
// ИП. It returns "" when s is valid and otherwise a Russian message for the
// form: "ИНН содержит недопустимые символы", "ИНН должен состоять из 10 или
// 12 цифр" or "Неверная контрольная сумма ИНН". s must already be cleaned
// (see CleanDigits); an empty s is reported as too short, so callers decide
// themselves whether the field is required.
func ValidateINN(s string) string {
	if !allDigits(s) {
		return msgINNChars
	}
	switch len(s) {
	case 10:
		if innCheck(s, innWeights10[:]) != s[9]-'0' {
			return msgINNChecksum
		}
	case 12:
		if innCheck(s, innWeights11[:]) != s[10]-'0' || innCheck(s, innWeights12[:]) != s[11]-'0' {
			return msgINNChecksum
		}
	default:
		return msgINNLength
	}
	return ""
}

// The ФНС weights for the check digits of an ИНН.
var (
	innWeights10 = [...]int{2, 4, 10, 3, 5, 9, 4, 6, 8}
	innWeights11 = [...]int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}
	innWeights12 = [...]int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}
)

// innCheck computes one check digit: the weighted sum of the leading digits
// modulo 11, then modulo 10.
func innCheck(digits string, weights []int) byte {
	sum := 0
	for i, w := range weights {
		sum += w * int(digits[i]-'0')
	}
	return byte(sum % 11 % 10)
}

// ValidateKPP checks a КПП (tax registration reason code): 9 characters,
// four digits (the tax office), two digits or capital Latin letters (the
// reason) and three digits. It returns "" when valid, else "КПП должен
// состоять из 9 символов" or "КПП имеет неверный формат". s must already be
// cleaned (see CleanDigits).
func ValidateKPP(s string) string {
	if utf8.RuneCountInString(s) != 9 {
		return msgKPPLength
	}
	if len(s) != 9 || !allDigits(s[:4]) || !allDigits(s[6:]) {
		return msgKPPFormat
	}
	for _, c := range []byte(s[4:6]) {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return msgKPPFormat
		}
	}
	return ""
}

// ValidateOGRN checks an ОГРН (13 digits, an organisation) or ОГРНИП (15
// digits, an individual entrepreneur). The last digit is the check digit:
// the number formed by the other digits modulo 11 (ОГРН) or 13 (ОГРНИП),
// then modulo 10. It returns "" when valid, else "ОГРН содержит
// недопустимые символы", "ОГРН должен состоять из 13 цифр (ОГРНИП — из 15)"
// or "Неверная контрольная сумма ОГРН". s must already be cleaned (see
// CleanDigits).
func ValidateOGRN(s string) string {
	if !allDigits(s) {
		return msgOGRNChars
	}
	var mod uint64
	switch len(s) {
	case 13:
		mod = 11
	case 15:
		mod = 13
	default:
		return msgOGRNLength
	}
	var rem uint64
	for _, c := range []byte(s[:len(s)-1]) {
		rem = (rem*10 + uint64(c-'0')) % mod
	}
	if byte(rem%10) != s[len(s)-1]-'0' {
		return msgOGRNCheck
	}
	return ""
}

// allDigits reports whether s consists of ASCII digits only; it is true for "".
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
