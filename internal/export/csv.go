package export

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/company"
)

// bom makes Excel read the file as UTF-8 (without it Cyrillic comes out
// as mojibake in the Russian locale).
const bom = "\uFEFF"

// csvSink writes the rows as Excel reads CSV in Russia: «;» between
// cells (the comma is the decimal separator there), CRLF line ends,
// quotes where a cell needs them, and a BOM first. It writes the cells
// itself, byte for byte as encoding/csv with Comma ';' and UseCRLF would,
// straight from the company into one reused line buffer: no []string
// per row, no string per cell.
type csvSink struct {
	out    io.Writer
	buf    *bufio.Writer
	loc    *time.Location
	line   []byte // the row being written
	cell   []byte // a composed cell (phones, e-mails, spheres) before escaping
	people []byte // the «Контакты» cell being composed
}

func newCSVSink(out io.Writer, loc *time.Location) *csvSink {
	return &csvSink{out: out, buf: bufio.NewWriterSize(out, 256<<10), loc: loc}
}

func (s *csvSink) header() error {
	s.line = append(s.line[:0], bom...)
	for i, c := range Columns {
		if i > 0 {
			s.line = append(s.line, ';')
		}
		s.line = appendCSVCell(s.line, c)
	}
	s.line = append(s.line, '\r', '\n')
	_, err := s.buf.Write(s.line)
	return err
}

func (s *csvSink) company(c *company.Company, contacts []Contact) error {
	s.people = appendContacts(s.people[:0], contacts)
	s.line = s.appendRow(s.line[:0], c, s.people)
	_, err := s.buf.Write(s.line)
	return err
}

// appendRow appends the company's line, its «Контакты» cell given
// composed (appendContacts).
func (s *csvSink) appendRow(l []byte, c *company.Company, contacts []byte) []byte {
	l = strconv.AppendInt(l, c.ID, 10)
	for _, v := range [...]string{c.Name, c.LegalName, c.INN, c.KPP, c.OGRN, c.Address, c.Website} {
		l = appendCSVCell(append(l, ';'), v)
	}
	s.cell = appendPhones(s.cell[:0], c.Phones)
	l = appendCSVCell(append(l, ';'), s.cell)
	s.cell = appendEmails(s.cell[:0], c.Emails)
	l = appendCSVCell(append(l, ';'), s.cell)
	s.cell = appendJoin(s.cell[:0], c.SphereNames, ", ")
	l = appendCSVCell(append(l, ';'), s.cell)
	for _, v := range [...]string{c.BranchName, c.ResponsibleName, c.StatusName} {
		l = appendCSVCell(append(l, ';'), v)
	}
	l = appendDate(append(l, ';'), c.CreatedAt.In(s.loc))
	l = appendDate(append(l, ';'), c.UpdatedAt.In(s.loc))
	l = appendCSVCell(append(l, ';'), contacts)
	return append(l, '\r', '\n')
}

// appendDate appends t as dateLayout has it, without the layout's
// parsing (time.AppendFormat walks the layout's text every call).
func appendDate(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 1000 || year > 9999 {
		return t.AppendFormat(dst, dateLayout)
	}
	hour, minute, _ := t.Clock()
	return append(dst, decimal[day/10], decimal[day%10], '.', decimal[month/10], decimal[month%10], '.',
		decimal[year/1000], decimal[year/100%10], decimal[year/10%10], decimal[year%10], ' ',
		decimal[hour/10], decimal[hour%10], ':', decimal[minute/10], decimal[minute%10])
}

// decimal maps a digit's value to its character.
const decimal = "0123456789"

func (s *csvSink) records() recordCodec { return csvRecords{s} }

// csvRecords keep a company in the buckets as its finished line, so that
// the second pass copies it out: a contact's part is its line of the
// «Контакты» cell with a line break after it (appendContacts's, but for
// the last), a company's record its line.
type csvRecords struct{ s *csvSink }

func (r csvRecords) contact(dst []byte, ct *Contact) []byte {
	return append(appendContactLine(dst, ct), '\n')
}

func (r csvRecords) company(dst []byte, c *company.Company, n int, contacts []byte) []byte {
	if n > 0 {
		contacts = contacts[:len(contacts)-1] // the last contact's line break
	}
	return r.s.appendRow(dst, c, contacts)
}

func (r csvRecords) write(_ int64, rec []byte) error {
	_, err := r.s.buf.Write(rec)
	return err
}

// appendCSVCell appends v as one cell, as encoding/csv would write
// Neutralize(v): with a leading apostrophe when it starts like a formula,
// quoted when it holds «;», a quote or a line break (or, not neutralised,
// starts with a blank), its quotes doubled and its line breaks CRLF.
func appendCSVCell[T string | []byte](dst []byte, v T) []byte {
	if len(v) == 0 {
		return dst
	}
	neutral := false
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		neutral = true
	}
	quote := hasSpecial(v) || !neutral && (string(v) == `\.` || startsBlank(v))
	if quote {
		dst = append(dst, '"')
	}
	if neutral {
		dst = append(dst, '\'')
	}
	if !quote {
		return append(dst, v...)
	}
	for i := 0; i < len(v); i++ {
		switch b := v[i]; b {
		case '"':
			dst = append(dst, '"', '"')
		case '\r': // under UseCRLF encoding/csv drops a CR and writes each LF as CRLF
		case '\n':
			dst = append(dst, '\r', '\n')
		default:
			dst = append(dst, b)
		}
	}
	return append(dst, '"')
}

// hasSpecial reports a separator, a quote or a line break in v.
func hasSpecial[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if special[v[i]] {
			return true
		}
	}
	return false
}

// special marks the bytes that make a cell quoted: a table look-up a
// byte instead of four comparisons (every byte of the file is looked at).
var special = [256]bool{';': true, '"': true, '\r': true, '\n': true}

// startsBlank reports whether v's first rune is a blank (Unicode space).
func startsBlank[T string | []byte](v T) bool {
	if v[0] < utf8.RuneSelf {
		return unicode.IsSpace(rune(v[0]))
	}
	if !blankLead[v[0]] { // a Cyrillic letter, say: decoded, 3 % of an export's CPU
		return false
	}
	r, _ := utf8.DecodeRuneInString(string(v[:min(len(v), utf8.UTFMax)]))
	return unicode.IsSpace(r)
}

// blankLead marks the first bytes of the UTF-8 of the blanks beyond
// ASCII (U+0085, U+00A0, U+1680, U+2000…U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000; TestBlankLeadHoldsEveryBlank checks every rune).
var blankLead = [256]bool{0xC2: true, 0xE1: true, 0xE2: true, 0xE3: true}

func (s *csvSink) flush() error {
	if err := s.buf.Flush(); err != nil {
		return err
	}
	switch f := s.out.(type) {
	case http.Flusher:
		f.Flush()
	case interface{ Flush() error }:
		return f.Flush()
	}
	return nil
}

func (s *csvSink) close(bool) error { return s.flush() }

// Neutralize keeps a cell from running as a formula when Excel opens the
// CSV: a value starting with =, +, -, @, a tab or a carriage return gets
// a leading apostrophe, which Excel shows as text (OWASP's advice on CSV
// injection). So a phone «+7 495 …» reads «'+7 495 …» in the file and
// «+7 495 …» in Excel's cell editor.
func Neutralize(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}
