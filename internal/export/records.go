package export

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/crmprofi/crm/internal/company"
)

// errOutOfOrder is a company that came out of its order in the first
// pass or is missing from it in the second: the two passes did not read
// the same companies.
var errOutOfOrder = errors.New("export: the two passes over the companies disagree")

// recordCodec is the form a company takes in the buckets (and a contact
// in the parts of allContacts), the sink's own:
// CSV keeps the company's finished line (its second pass only copies
// it out), XLSX the company's fields (structuredRecords).
type recordCodec interface {
	// contact appends a contact's part of its company's record.
	contact(dst []byte, ct *Contact) []byte
	// company appends the record of c (what follows its id) with its n
	// contacts, given as contact appended them one after another.
	company(dst []byte, c *company.Company, n int, contacts []byte) []byte
	// write writes the company id from its record (what follows its id).
	write(id int64, rec []byte) error
}

// structuredRecords keep a company's fields (for the XLSX sink, which
// writes them to cells of their own), decoded back for the sink.
type structuredRecords struct {
	sink rowSink
	// The company and contacts a record is decoded into, reused.
	c        company.Company
	contacts []Contact
}

func (r *structuredRecords) contact(b []byte, ct *Contact) []byte { return appendContact(b, ct) }

func (r *structuredRecords) company(b []byte, c *company.Company, n int, contacts []byte) []byte {
	for _, v := range [...]string{c.Name, c.LegalName, c.INN, c.KPP, c.OGRN, c.Address, c.Website, c.BranchName, c.ResponsibleName, c.StatusName} {
		b = appendString(b, v)
	}
	b = appendTime(appendTime(b, c.CreatedAt), c.UpdatedAt)
	b = binary.AppendVarint(b, int64(len(c.Phones)))
	for i := range c.Phones {
		b = appendString(appendString(b, c.Phones[i].Value), c.Phones[i].Comment)
	}
	b = binary.AppendVarint(b, int64(len(c.Emails)))
	for i := range c.Emails {
		b = appendString(appendString(b, c.Emails[i].Value), c.Emails[i].Comment)
	}
	b = appendStrings(b, c.SphereNames)
	return append(binary.AppendVarint(b, int64(n)), contacts...)
}

func (r *structuredRecords) write(id int64, rec []byte) error {
	c, list, err := r.decode(id, rec)
	if err != nil {
		return err
	}
	return r.sink.company(c, list)
}

// appendContact appends a contact as a company's record holds it (and
// the parts of allContacts).
func appendContact(b []byte, ct *Contact) []byte {
	b = binary.AppendVarint(b, ct.ID)
	for _, v := range [...]string{ct.LastName, ct.FirstName, ct.MiddleName, ct.Job} {
		b = appendString(b, v)
	}
	return appendStrings(appendStrings(b, ct.Phones), ct.Emails)
}

// decode reads the company id back from its record (what follows its id).
// The company and the contacts are r's own, overwritten by the next.
func (r *structuredRecords) decode(id int64, rec []byte) (*company.Company, []Contact, error) {
	// One string holds the whole record; the fields are its substrings,
	// so a company costs one allocation however many cells it has.
	d := decoder{rec: string(rec)}
	c := &r.c
	c.ID = id
	for _, f := range [...]*string{&c.Name, &c.LegalName, &c.INN, &c.KPP, &c.OGRN, &c.Address, &c.Website, &c.BranchName, &c.ResponsibleName, &c.StatusName} {
		*f = d.string()
	}
	c.CreatedAt, c.UpdatedAt = d.time(), d.time()
	c.Phones = c.Phones[:0]
	for range d.count() {
		c.Phones = append(c.Phones, company.Phone{Value: d.string(), Comment: d.string()})
	}
	c.Emails = c.Emails[:0]
	for range d.count() {
		c.Emails = append(c.Emails, company.Email{Value: d.string(), Comment: d.string()})
	}
	c.SphereNames = d.strings(c.SphereNames[:0])
	list := r.contacts[:0]
	for range d.count() {
		if len(list) < cap(list) {
			list = list[:len(list)+1]
		} else {
			list = append(list, Contact{})
		}
		ct := &list[len(list)-1]
		ct.ID = d.varint()
		ct.LastName, ct.FirstName, ct.MiddleName, ct.Job = d.string(), d.string(), d.string(), d.string()
		ct.Phones = d.strings(ct.Phones[:0])
		ct.Emails = d.strings(ct.Emails[:0])
	}
	r.contacts = list
	if d.bad || d.pos != len(d.rec) {
		return nil, nil, errOutOfOrder
	}
	return c, list, nil
}

func appendString(b []byte, v string) []byte {
	return append(binary.AppendVarint(b, int64(len(v))), v...)
}

func appendStrings(b []byte, list []string) []byte {
	b = binary.AppendVarint(b, int64(len(list)))
	for _, v := range list {
		b = appendString(b, v)
	}
	return b
}

// appendTime keeps the instant (seconds and nanoseconds); the sinks
// format it in the export's location.
func appendTime(b []byte, t time.Time) []byte {
	return binary.AppendVarint(binary.AppendVarint(b, t.Unix()), int64(t.Nanosecond()))
}

// decoder reads a record of the buckets; a malformed record sets bad.
type decoder struct {
	rec string
	pos int
	bad bool
}

func (d *decoder) uvarint() uint64 {
	var v uint64
	for shift := 0; d.pos < len(d.rec); shift += 7 {
		b := d.rec[d.pos]
		d.pos++
		if b < 0x80 {
			return v | uint64(b)<<shift
		}
		v |= uint64(b&0x7f) << shift
	}
	d.bad = true
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count is a number of items that follow, each at least a byte.
func (d *decoder) count() int {
	n := d.varint()
	if n < 0 || n > int64(len(d.rec)-d.pos) {
		d.bad = true
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	v := d.rec[d.pos : d.pos+n]
	d.pos += n
	return v
}

func (d *decoder) strings(dst []string) []string {
	for range d.count() {
		dst = append(dst, d.string())
	}
	return dst
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	return time.Unix(sec, d.varint()).UTC()
}
