package amoimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/contactinfo"
)

// A staged record (import_rows.record) is written once by Stage and read
// back twice — by the plan and by Apply — so its encoding is on the
// import's hot path: with encoding/json, reading records back was 14–19 %
// of an import's CPU time (reflection, and Phone's and Email's own
// UnmarshalJSON scanning every value twice). The record is therefore kept
// in a small text form of its own, read without reflection:
//
//	R1 <field> <field> …
//
// with the fields in the order of Record's declaration; a string is its
// length in bytes, ':' and the bytes (12:ООО Ромашка is "12:" and 12
// bytes); an integer is its decimal digits and ','; a list is its length
// as an integer, then its elements; a time is its RFC 3339 text as a
// string ("" for the zero time), as encoding/json writes it. The text is
// valid UTF-8 without NUL, so PostgreSQL's text takes it; a record that
// would break that (a value that is not UTF-8, a NUL) is kept as JSON,
// which escapes it. Records written before, and by tests, are JSON:
// decodeRecord reads both, telling them apart by the first byte.
const recordMagic = "R1"

// encodeRecord appends r in the record form to buf.
func encodeRecord(buf []byte, r *Record) ([]byte, error) {
	start := len(buf)
	buf = append(buf, recordMagic...)
	buf = appendInt(buf, int64(r.Number))
	buf = appendInt(buf, int64(r.Line))
	buf = appendString(buf, string(r.Kind))
	buf = appendInt(buf, r.AmoID)
	for _, s := range []string{r.Name, r.FirstName, r.LastName, r.MiddleName, r.Position, r.Company,
		r.Responsible, r.CreatedBy, r.UpdatedBy} {
		buf = appendString(buf, s)
	}
	buf = appendTime(buf, r.CreatedAt)
	buf = appendTime(buf, r.UpdatedAt)
	for _, s := range []string{r.INN, r.KPP, r.OGRN, r.Address, r.Website} {
		buf = appendString(buf, s)
	}
	buf = appendInt(buf, int64(len(r.Phones)))
	for _, p := range r.Phones {
		buf = appendString(buf, p.Value)
		buf = appendString(buf, p.Kind)
		buf = appendString(buf, p.Comment)
		buf = appendString(buf, p.E164)
		buf = appendString(buf, p.Ext)
	}
	buf = appendInt(buf, int64(len(r.Emails)))
	for _, e := range r.Emails {
		buf = appendString(buf, e.Value)
		buf = appendString(buf, e.Kind)
		buf = appendString(buf, e.Comment)
	}
	buf = appendStrings(buf, r.Notes)
	buf = appendStrings(buf, r.Spheres)
	buf = appendInt(buf, int64(len(r.Issues)))
	for _, is := range r.Issues {
		buf = appendString(buf, is.Code)
		buf = appendString(buf, is.Field)
		buf = appendString(buf, is.Value)
		buf = appendString(buf, is.Fixed)
	}
	if enc := buf[start:]; !utf8.Valid(enc) || bytes.IndexByte(enc, 0) >= 0 {
		j, err := json.Marshal(r)
		if err != nil {
			return buf[:start], err
		}
		return append(buf[:start], j...), nil
	}
	return buf, nil
}

func appendInt(buf []byte, n int64) []byte {
	return append(strconv.AppendInt(buf, n, 10), ',')
}

func appendString(buf []byte, s string) []byte {
	buf = strconv.AppendInt(buf, int64(len(s)), 10)
	buf = append(buf, ':')
	return append(buf, s...)
}

func appendStrings(buf []byte, list []string) []byte {
	buf = appendInt(buf, int64(len(list)))
	for _, s := range list {
		buf = appendString(buf, s)
	}
	return buf
}

func appendTime(buf []byte, t time.Time) []byte {
	if t.IsZero() {
		return appendString(buf, "")
	}
	return appendString(buf, t.Format(time.RFC3339Nano))
}

// decodeRecord reads a staged record, in the record form or as JSON, into
// r, which it overwrites.
func decodeRecord(s string, r *Record) error {
	*r = Record{}
	if len(s) == 0 || s[0] == '{' {
		return json.Unmarshal([]byte(s), r)
	}
	d := recordDecoder{s: s}
	if len(s) < len(recordMagic) || s[:len(recordMagic)] != recordMagic {
		return errors.New("record: unknown encoding")
	}
	d.pos = len(recordMagic)
	r.Number = int(d.int())
	r.Line = int(d.int())
	r.Kind = Kind(d.string())
	r.AmoID = d.int()
	for _, p := range []*string{&r.Name, &r.FirstName, &r.LastName, &r.MiddleName, &r.Position, &r.Company,
		&r.Responsible, &r.CreatedBy, &r.UpdatedBy} {
		*p = d.string()
	}
	r.CreatedAt = d.time()
	r.UpdatedAt = d.time()
	for _, p := range []*string{&r.INN, &r.KPP, &r.OGRN, &r.Address, &r.Website} {
		*p = d.string()
	}
	if n := d.count(); n > 0 {
		r.Phones = make([]contactinfo.Phone, n)
		for i := range r.Phones {
			p := &r.Phones[i]
			p.Value, p.Kind, p.Comment, p.E164, p.Ext = d.string(), d.string(), d.string(), d.string(), d.string()
		}
	}
	if n := d.count(); n > 0 {
		r.Emails = make([]contactinfo.Email, n)
		for i := range r.Emails {
			e := &r.Emails[i]
			e.Value, e.Kind, e.Comment = d.string(), d.string(), d.string()
		}
	}
	r.Notes = d.strings()
	r.Spheres = d.strings()
	if n := d.count(); n > 0 {
		r.Issues = make([]Issue, n)
		for i := range r.Issues {
			is := &r.Issues[i]
			is.Code, is.Field, is.Value, is.Fixed = d.string(), d.string(), d.string(), d.string()
		}
	}
	if d.err == nil && d.pos != len(s) {
		d.err = fmt.Errorf("record: %d bytes after the last field", len(s)-d.pos)
	}
	return d.err
}

// recordDecoder reads the fields of a record in the record form one by
// one; the first defect stops it, and every later field reads as zero.
type recordDecoder struct {
	s   string
	pos int
	err error
}

// number reads decimal digits (an optional '-' first) up to end.
func (d *recordDecoder) number(end byte) int64 {
	if d.err != nil {
		return 0
	}
	i := d.pos
	for i < len(d.s) && d.s[i] != end {
		i++
	}
	if i == len(d.s) {
		d.err = fmt.Errorf("record: field at byte %d not ended", d.pos)
		return 0
	}
	n, err := strconv.ParseInt(d.s[d.pos:i], 10, 64)
	if err != nil {
		d.err = fmt.Errorf("record: field at byte %d: %w", d.pos, err)
		return 0
	}
	d.pos = i + 1
	return n
}

func (d *recordDecoder) int() int64 { return d.number(',') }

// count reads a list's length, refusing one the rest of the text cannot
// hold (each element takes at least two bytes).
func (d *recordDecoder) count() int {
	n := d.int()
	if n < 0 || n > int64(len(d.s)-d.pos) {
		if d.err == nil {
			d.err = fmt.Errorf("record: list of %d at byte %d", n, d.pos)
		}
		return 0
	}
	return int(n)
}

func (d *recordDecoder) string() string {
	n := d.number(':')
	if d.err != nil {
		return ""
	}
	if n < 0 || n > int64(len(d.s)-d.pos) {
		d.err = fmt.Errorf("record: string of %d bytes at byte %d", n, d.pos)
		return ""
	}
	s := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

func (d *recordDecoder) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = d.string()
	}
	return list
}

func (d *recordDecoder) time() time.Time {
	s := d.string()
	if s == "" || d.err != nil {
		return time.Time{}
	}
	var t time.Time
	// As encoding/json reads it, so both forms give the same value.
	if err := t.UnmarshalText([]byte(s)); err != nil {
		d.err = fmt.Errorf("record: time %q: %w", s, err)
	}
	return t
}
