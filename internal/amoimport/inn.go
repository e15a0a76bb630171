package amoimport

import (
	"strings"

	"github.com/crmprofi/crm/internal/dedup"
)

// The warning codes of requisites repair, as the fixtures' truth files name
// them.
const (
	CodeINNLeadingZeroLost = "inn_leading_zero_lost"
	CodeINNFloatSuffix     = "inn_float_suffix"
	CodeINNFormatted       = "inn_formatted"
	CodeINNKPPCombined     = "inn_kpp_combined"
	CodeINNScientific      = "inn_excel_scientific_unrecoverable"
	CodeINNInvalidChecksum = "inn_invalid_checksum"
	CodeINNBadLength       = "inn_bad_length"
	CodeKPPLeadingZeroLost = "kpp_leading_zero_lost"
	CodeKPPInvalid         = "kpp_invalid"
	CodeOGRNInvalid        = "ogrn_invalid"
)

// innKPPSeparators are what people put between an ИНН and a КПП typed
// into one cell; maxRequisiteCellBytes bounds a cell worth reading as a
// number in exponent form.
const (
	innKPPSeparators      = "/\\|"
	maxRequisiteCellBytes = 64
)

// RepairINN reads an ИНН cell as Excel, pandas and people leave it and
// returns the ИНН when one can be recovered with certainty, the КПП when
// the cell held an «ИНН/КПП» pair, and at most one issue saying what was
// repaired or why nothing usable was left. The repair never guesses: a
// returned ИНН always passes the ФНС check digits, because a wrong ИНН
// would merge two different companies, while a dropped one only costs a
// match by name and address.
//
// The steps, in the order of amo-format.md §2: split «ИНН/КПП»; Excel's
// scientific notation only when every digit survived («7,72031E+09» did
// not); strip pandas' «.0»; drop an «ИНН» prefix, spaces and dashes; put
// back a leading zero Excel dropped (9 → 10 and 11 → 12 digits) when the
// check digits then pass; finally the length and check digits.
func RepairINN(cell string) (inn, kpp string, issue *Issue) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return "", "", nil
	}
	fail := func(code string) (string, string, *Issue) {
		return "", kpp, &Issue{Code: code, Value: cell}
	}
	code := ""
	s := cell
	if i := strings.IndexAny(s, innKPPSeparators); i >= 0 {
		k, _ := RepairKPP(s[i+1:])
		kpp = k
		s = s[:i]
		code = CodeINNKPPCombined
	}
	if digits, ok, isSci := fromScientific(s); isSci {
		if !ok {
			return fail(CodeINNScientific)
		}
		s = digits
		if code == "" {
			code = CodeINNFormatted
		}
	}
	if d, ok := stripFloatSuffix(s); ok {
		s = d
		if code == "" {
			code = CodeINNFloatSuffix
		}
	}
	digits := keepDigits(s)
	if digits == "" {
		return fail(CodeINNBadLength)
	}
	if digits != s && code == "" {
		code = CodeINNFormatted
	}
	if (len(digits) == 9 || len(digits) == 11) && innValid("0"+digits) {
		digits = "0" + digits
		if code == "" || code == CodeINNFormatted || code == CodeINNFloatSuffix {
			code = CodeINNLeadingZeroLost
		}
	}
	switch {
	case len(digits) != 10 && len(digits) != 12:
		return fail(CodeINNBadLength)
	case !innValid(digits):
		return fail(CodeINNInvalidChecksum)
	}
	if code == "" {
		return digits, kpp, nil
	}
	return digits, kpp, &Issue{Code: code, Value: cell, Fixed: digits}
}

// innValid is dedup's check digits, and not all zeros: «0000000000»
// passes the arithmetic but is nobody's ИНН.
func innValid(s string) bool {
	return dedup.ValidateINN(s) == "" && strings.Trim(s, "0") != ""
}

// RepairKPP reads a КПП cell: spaces and dashes dropped, pandas' «.0»
// stripped, a leading zero Excel dropped put back (8 → 9 characters), then
// the format of dedup.ValidateKPP. A КПП has no check digits, so a
// malformed one is dropped with kpp_invalid rather than guessed at.
func RepairKPP(cell string) (kpp string, issue *Issue) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return "", nil
	}
	s := cell
	if d, ok := stripFloatSuffix(s); ok {
		s = d
	}
	s = strings.ToUpper(dedup.CleanDigits(strings.TrimPrefix(strings.TrimPrefix(s, "КПП"), ":")))
	s = strings.TrimSpace(s)
	code := ""
	if len(s) == 8 && dedup.ValidateKPP("0"+s) == "" {
		s = "0" + s
		code = CodeKPPLeadingZeroLost
	}
	if dedup.ValidateKPP(s) != "" {
		return "", &Issue{Code: CodeKPPInvalid, Value: cell}
	}
	if code == "" {
		return s, nil
	}
	return s, &Issue{Code: code, Value: cell, Fixed: s}
}

// RepairOGRN reads an ОГРН or ОГРНИП cell the way RepairINN reads an ИНН,
// with one code for whatever cannot be used: ОГРН feeds no matching, so
// the report needs only to say it was dropped.
func RepairOGRN(cell string) (ogrn string, issue *Issue) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return "", nil
	}
	s := cell
	if digits, ok, isSci := fromScientific(s); isSci {
		if !ok {
			return "", &Issue{Code: CodeOGRNInvalid, Value: cell}
		}
		s = digits
	}
	if d, ok := stripFloatSuffix(s); ok {
		s = d
	}
	s = keepDigits(s)
	if dedup.ValidateOGRN(s) != "" {
		return "", &Issue{Code: CodeOGRNInvalid, Value: cell}
	}
	return s, nil
}

// fromScientific reads Excel's exponent form of a number («7,72031E+09»,
// «7.707083893E9») back into its digits. isSci says whether s is in that
// form at all; ok whether every digit of the integer survived — true only
// when the mantissa has exactly as many decimals as the exponent says.
// Fewer decimals mean Excel rounded digits away (or they were zeros — no
// one can tell), and guessing them would invent an ИНН.
func fromScientific(s string) (digits string, ok, isSci bool) {
	e := strings.IndexAny(s, "eE")
	if e <= 0 || len(s) > maxRequisiteCellBytes {
		return "", false, false
	}
	mant, exp := s[:e], strings.TrimPrefix(s[e+1:], "+")
	if !isASCIIDigits(exp) || len(exp) > 2 {
		return "", false, false
	}
	intPart, frac, _ := strings.Cut(strings.Replace(mant, ",", ".", 1), ".")
	if !isASCIIDigits(intPart) || (frac != "" && !isASCIIDigits(frac)) {
		return "", false, false
	}
	n := 0
	for _, c := range []byte(exp) {
		n = n*10 + int(c-'0')
	}
	if len(frac) > n {
		frac = strings.TrimRight(frac[n:], "0")
		if frac != "" {
			return "", false, true
		}
		frac = mant[len(intPart)+1:][:n]
	}
	if len(frac) != n {
		return "", false, true
	}
	return intPart + frac, true, true
}

// stripFloatSuffix removes the «.0» (or «,0», «.00») pandas and openpyxl
// add to a whole number read as a float.
func stripFloatSuffix(s string) (string, bool) {
	i := strings.LastIndexByte(s, '.')
	if c := strings.LastIndexByte(s, ','); c > i {
		i = c
	}
	if i <= 0 || i == len(s)-1 || strings.Trim(s[i+1:], "0") != "" || !isASCIIDigits(s[:i]) {
		return s, false
	}
	return s[:i], true
}

// keepDigits drops everything but ASCII digits: the «ИНН» prefix, colons,
// spaces, dashes, a stray «№».
func keepDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func isASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
