package amoimport

import (
	"html"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/dedup"
)

// The warning codes of cells, as the fixtures' truth files name them, and
// a few of the reader's own that the truth files have no name for
// (phone_invalid, date_invalid, amo_id_invalid, quote_unclosed; with
// ogrn_invalid of inn.go).
const (
	CodeHTMLEntities         = "html_entities"
	CodeExtraColumns         = "extra_columns"
	CodeValueTooLong         = "value_too_long"
	CodeNoteVeryLong         = "note_very_long"
	CodeFieldOverPythonLimit = "field_exceeds_python_csv_default_limit"
	CodeEmailInvalid         = "email_invalid"
	CodePhoneExcelError      = "phone_excel_error"
	CodePhoneWithoutAreaCode = "phone_without_area_code"
	CodePhoneInvalid         = "phone_invalid"
	CodeDateInvalid          = "date_invalid"
	CodeAmoIDInvalid         = "amo_id_invalid"
	CodeQuoteUnclosed        = "quote_unclosed"
)

// pythonCSVFieldLimit is Python's default csv.field_size_limit, on which
// the first version's importer died; minPhoneDigitsWithoutArea is the
// shortest local number («12-34-5») worth calling one that lost its area
// code.
const (
	pythonCSVFieldLimit       = 131072
	minPhoneDigitsWithoutArea = 5
)

// Length limits of the fields a record is written into: those of
// internal/company and internal/contact, so that a record the reader
// returns is one Apply can write. A longer value is cut to the limit with
// value_too_long; a note longer than internal/note takes is kept whole
// with note_very_long (Apply decides how to store it).
const (
	maxCompanyName = 255
	maxAddress     = 1000
	maxWebsite     = 255
	maxPersonName  = 150
	maxPosition    = 255
	maxNote        = 20000
)

// cleanCell is a cell as the importer reads it: HTML entities decoded
// (some exports carry «ООО &quot;Ромашка&quot;»), no-break spaces made
// spaces, NUL bytes dropped, trimmed. entities reports whether decoding changed anything.
func cleanCell(s string) (clean string, entities bool) {
	if strings.IndexByte(s, '&') >= 0 && strings.IndexByte(s, ';') >= 0 {
		if u := html.UnescapeString(s); u != s {
			s, entities = u, true
		}
	}
	if strings.Contains(s, "\u00a0") {
		s = strings.ReplaceAll(s, "\u00a0", " ")
	}
	if strings.IndexByte(s, 0) >= 0 {
		// PostgreSQL's text takes no NUL; a NUL in a CSV is debris anyway.
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.TrimSpace(s), entities
}

// limitRunes cuts s to at most n runes and reports whether it did.
func limitRunes(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	count := 0
	for i := range s {
		if count == n {
			return strings.TrimSpace(s[:i]), true
		}
		count++
	}
	return s, false
}

// excelErrors are the error values Excel writes into a cell whose formula
// failed — a phone typed with a leading «+» or «=» becomes one — in the
// Russian and the English interface.
var excelErrors = []string{
	"#ИМЯ?", "#ЗНАЧ!", "#ДЕЛ/0!", "#Н/Д", "#ССЫЛКА!", "#ЧИСЛО!", "#ПУСТО!",
	"#NAME?", "#VALUE!", "#DIV/0!", "#N/A", "#REF!", "#NUM!", "#NULL!",
}

// IsExcelError reports whether a cell holds an Excel error value rather
// than data.
func IsExcelError(s string) bool {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "#") {
		return false
	}
	for _, e := range excelErrors {
		if strings.EqualFold(s, e) {
			return true
		}
	}
	return false
}

// extensionLead are the words that start an extension; a fragment of a
// phone cell that starts with one belongs to the number before it.
var extensionLead = []string{"доб", "вн", "ext", "#", "доп", "x", "х"}

// SplitPhones splits a phone cell into its numbers. People and amoCRM
// separate numbers with «,», «;», «/» or a new line, but an extension
// written «…-67, доб. 123» would then become a «phone» of its own, so a
// fragment that starts with an extension word is glued back onto the
// number before it.
func SplitPhones(cell string) []string {
	if !strings.ContainsAny(cell, ",;/\n\r") {
		if cell = strings.TrimSpace(cell); cell == "" {
			return nil
		}
		return []string{cell}
	}
	var out []string
	for _, f := range strings.FieldsFunc(cell, func(r rune) bool {
		return r == ',' || r == ';' || r == '/' || r == '\n' || r == '\r'
	}) {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if len(out) > 0 && startsExtension(f) {
			out[len(out)-1] += " " + f
			continue
		}
		out = append(out, f)
	}
	return out
}

func startsExtension(f string) bool {
	f = strings.ToLower(strings.TrimLeft(f, " (\t"))
	for _, w := range extensionLead {
		if strings.HasPrefix(f, w) {
			rest := strings.TrimLeft(f[len(w):], " .:№#")
			return w == "#" || rest == "" || rest[0] >= '0' && rest[0] <= '9' || strings.HasPrefix(f, "доб")
		}
	}
	return false
}

// readPhones turns a phone cell into phones of the column's kind,
// normalised by the project's one normaliser (dedup.NormalizePhone). A
// number that has no normal form is kept as typed, without E164, and
// reported: phone_without_area_code for a local number («123-45-67»),
// phone_invalid otherwise. An Excel error value is dropped and reported.
func readPhones(cell string, col column, issues *[]Issue) []contactinfo.Phone {
	if IsExcelError(cell) {
		*issues = append(*issues, Issue{Code: CodePhoneExcelError, Field: col.header, Value: cell})
		return nil
	}
	var out []contactinfo.Phone
	for _, v := range SplitPhones(cell) {
		if IsExcelError(v) {
			*issues = append(*issues, Issue{Code: CodePhoneExcelError, Field: col.header, Value: v})
			continue
		}
		p := contactinfo.Phone{Value: v, Kind: col.kind}
		if n, ok := dedup.NormalizePhone(v); ok {
			p.E164, p.Ext = n.E164, n.Ext
		} else {
			code := CodePhoneInvalid
			if d := len(keepDigits(v)); d >= minPhoneDigitsWithoutArea && d <= dedup.PhoneSuffixLen {
				code = CodePhoneWithoutAreaCode
			}
			*issues = append(*issues, Issue{Code: code, Field: col.header, Value: v})
		}
		out = append(out, p)
	}
	return out
}

// SplitEmails splits an e-mail cell on «,» and «;» (and line breaks):
// amoCRM users put two addresses in one cell «когда 2 почты». A space is
// no separator: «ivan mail.ru» is one mistyped address, reported as such,
// not two.
func SplitEmails(cell string) []string {
	if !strings.ContainsAny(cell, ",;\n\r") {
		if cell = strings.TrimSpace(cell); cell == "" {
			return nil
		}
		return []string{cell}
	}
	var out []string
	for _, f := range strings.FieldsFunc(cell, func(r rune) bool {
		return r == ',' || r == ';' || r == '\n' || r == '\r'
	}) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// readEmails keeps the valid addresses of an e-mail cell
// (dedup.NormalizeEmail, the check every e-mail of the project passes)
// and reports each invalid one with email_invalid.
func readEmails(cell string, col column, issues *[]Issue) []contactinfo.Email {
	var out []contactinfo.Email
	for _, v := range SplitEmails(cell) {
		norm, ok := dedup.NormalizeEmail(v)
		if !ok {
			*issues = append(*issues, Issue{Code: CodeEmailInvalid, Field: col.header, Value: v})
			continue
		}
		out = append(out, contactinfo.Email{Value: v, Kind: col.kind, Norm: norm})
	}
	return out
}

// exportZone is the time zone of the dates in an export: amoCRM writes
// them in the account's zone, which for the teams this import is for is
// Moscow time (UTC+3 all year since 2014). A fixed zone spares the binary
// the time zone database.
var exportZone = time.FixedZone("MSK", 3*60*60)

// dateLayouts are the forms dates take in an export: amoCRM's own, and
// what an Excel round trip leaves (no seconds, or no time).
var dateLayouts = []string{"02.01.2006 15:04:05", "02.01.2006 15:04", "02.01.2006", "2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02"}

// ParseDate reads a date cell of an export into UTC. ok is false for a
// value that is no date; an empty cell is the zero time and ok.
func ParseDate(cell string) (time.Time, bool) {
	if cell == "" {
		return time.Time{}, true
	}
	if t, ok := parseRussianDate(cell); ok {
		return t, true
	}
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, cell, exportZone); err == nil {
			return t.UTC(), true
		}
	}
	if t, ok := excelSerialDate(cell); ok {
		return t, true
	}
	return time.Time{}, false
}

// parseRussianDate is the fast path of ParseDate for amoCRM's own
// «dd.mm.yyyy H:MM[:SS]», which every row has twice: time.Parse through
// the layouts costs more than the rest of the row.
func parseRussianDate(s string) (time.Time, bool) {
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, s != ""
	}
	if len(s) < len("02.01.2006 1:04") || s[2] != '.' || s[5] != '.' || s[10] != ' ' {
		return time.Time{}, false
	}
	day, ok1 := num(s[0:2])
	month, ok2 := num(s[3:5])
	year, ok3 := num(s[6:10])
	clock := strings.Split(s[11:], ":")
	if !ok1 || !ok2 || !ok3 || len(clock) < 2 || len(clock) > 3 || len(clock[0]) > 2 || len(clock[1]) != 2 {
		return time.Time{}, false
	}
	hour, ok1 := num(clock[0])
	minute, ok2 := num(clock[1])
	sec, ok3 := 0, true
	if len(clock) == 3 {
		if len(clock[2]) != 2 {
			return time.Time{}, false
		}
		sec, ok3 = num(clock[2])
	}
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, exportZone)
	if t.Day() != day {
		return time.Time{}, false // 31.02: time.Date would roll it over
	}
	return t.UTC(), true
}

// excelSerialDate reads the day number a typed .xlsx date cell holds
// (days since 1899-12-30, the fraction the time of day).
func excelSerialDate(cell string) (time.Time, bool) {
	f, err := strconv.ParseFloat(cell, 64)
	if err != nil || f < 1 || f > 2958465 {
		return time.Time{}, false
	}
	days := int(f)
	secs := int((f-float64(days))*86400 + 0.5)
	t := time.Date(1899, 12, 30, 0, 0, 0, 0, exportZone).AddDate(0, 0, days).Add(time.Duration(secs) * time.Second)
	return t.UTC(), true
}

// SplitList splits a «Теги» or «Сфера деятельности» cell on «,» into
// trimmed values without repeats (compared case-insensitively, the first
// spelling kept).
func SplitList(cell string, into []string) []string {
	for _, v := range strings.Split(cell, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		dup := false
		for _, have := range into {
			if strings.EqualFold(have, v) {
				dup = true
				break
			}
		}
		if !dup {
			into = append(into, v)
		}
	}
	return into
}

// patronymicEndings end Russian patronymics (and the Turkic «оглы»,
// «кызы»), so a name's middle token can be told from a surname.
var patronymicEndings = []string{"ович", "евич", "ьич", "овна", "евна", "ична", "инична", "оглы", "кызы", "улы"}

// surnameEndings end most Russian surnames; used only to order a
// two-word name whose columns were not exported.
var surnameEndings = []string{
	"ов", "ев", "ёв", "ин", "ын", "ова", "ева", "ёва", "ина", "ына",
	"ский", "цкий", "ская", "цкая", "ской", "цкой", "ых", "их", "енко", "ко", "ук", "юк", "ян", "швили", "дзе",
}

func hasEnding(w string, endings []string) bool {
	for _, e := range endings {
		// At least two letters before the ending: «Ов» is no surname.
		if len(w) >= len(e)+3 && strings.HasSuffix(w, e) {
			return true
		}
	}
	// Endings are lower case and so is the end of a capitalised name; only
	// a name in capitals needs folding.
	if r, _ := utf8.DecodeLastRuneInString(w); unicode.IsUpper(r) {
		return hasEnding(strings.ToLower(w), endings)
	}
	return false
}

// SplitPersonName splits a contact's full name into last, first and
// middle names. Three words are «Фамилия Имя Отчество»; two words are
// «Имя Отчество» when the second is a patronymic, «Фамилия Имя» when the
// first looks like a surname and the second does not, and «Имя Фамилия»
// otherwise (amoCRM's own order when it joins the two columns); one word
// is a first name. More words: the first is the surname, the second the
// first name, the rest the middle name.
func SplitPersonName(full string) (last, first, middle string) {
	w := strings.Fields(full)
	switch len(w) {
	case 0:
		return "", "", ""
	case 1:
		return "", w[0], ""
	case 2:
		switch {
		case hasEnding(w[1], patronymicEndings):
			return "", w[0], w[1]
		case hasEnding(w[0], surnameEndings) && !hasEnding(w[1], surnameEndings):
			return w[0], w[1], ""
		default:
			return w[1], w[0], ""
		}
	case 3:
		if hasEnding(w[0], patronymicEndings) || hasEnding(w[1], patronymicEndings) && !hasEnding(w[2], patronymicEndings) {
			// «Иван Петрович Сидоров»
			return w[2], w[0], w[1]
		}
		return w[0], w[1], w[2]
	default:
		return w[0], w[1], strings.Join(w[2:], " ")
	}
}

// personName fills the contact's names: from the «Фамилия», «Имя» and
// «Отчество» columns where they are filled, the rest from the full name's
// words those columns do not already account for, each in the place
// SplitPersonName gives it when that place is free.
func personName(full, last, first, middle string) (l, f, m string) {
	split := [3]string{}
	split[0], split[1], split[2] = SplitPersonName(full)
	out := [3]string{last, first, middle}
	taken := func(w string) bool {
		for _, c := range []string{last, first, middle} {
			if c != "" && strings.EqualFold(c, w) {
				return true
			}
		}
		return false
	}
	var left []string
	for i, w := range split {
		if w == "" || taken(w) {
			continue
		}
		if out[i] == "" {
			out[i] = w
			continue
		}
		left = append(left, w)
	}
	for _, w := range left {
		switch {
		case out[2] == "" && hasEnding(w, patronymicEndings):
			out[2] = w
		case out[1] == "":
			out[1] = w
		case out[0] == "":
			out[0] = w
		}
	}
	return out[0], out[1], out[2]
}
