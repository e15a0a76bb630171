package export

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"github.com/crmprofi/crm/internal/company"
)

// spill keeps records by ascending id in a temporary file, to be read
// back by id: the contacts of a whole export (allContacts), read by id
// first and then taken by their companies, mostly in the same order.
//
// Read in the list's order (by name, say), every company and each of its
// children is a seek to a page of its own: some twenty B-tree descents a
// company, ~100 µs on SQLite. Read in the order of their ids, the
// companies and their children (indexed by company_id) come front to
// back. So the export reads them that way, and keeps what it reads in
// files (this and buckets), which are in the OS's page cache, not in the
// process.
//
// The process keeps a sparse index: the id and place of every
// spillRun-th record, half a byte a record (0.5 MB for a million), so
// that its memory stays flat as rows grow. A record is found by reading
// its run (a few kilobytes, one ReadAt) and skipping to it by the
// lengths the records start with, from the record found last when it
// is further on in the same run.
type spill struct {
	f     *os.File
	w     *bufio.Writer
	index []entry // the first record of each run; ascending ids
	n     int     // records written
	last  int64   // the id of the last record written
	size  int64
	read  []byte // the run read last
	runAt int    // 1 + the index of the run in read, 0 for none
	// lastID and lastAt are the record found last in read and where it
	// starts (0 for none).
	lastID int64
	lastAt int
	enc    recordCodec
}

// entry is where the record of the company id starts in the file.
type entry struct{ id, off int64 }

// spillRun is how many records an entry of the index stands for.
const spillRun = 128

func newSpill(enc recordCodec) (*spill, error) {
	f, err := os.CreateTemp("", "crm-export-*.bin")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &spill{f: f, w: bufio.NewWriterSize(f, 256<<10), enc: enc}, nil
}

// close removes the file.
func (s *spill) close() {
	_ = s.f.Close()
	_ = os.Remove(s.f.Name())
}

// errOutOfOrder is a company that came out of its order in the first
// pass or is missing from it in the second: the two passes did not read
// the same companies.
var errOutOfOrder = errors.New("export: the two passes over the companies disagree")

// recordCodec is the form a company takes in the spill, the sink's own:
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
// the contacts' spill of a whole export).
func appendContact(b []byte, ct *Contact) []byte {
	b = binary.AppendVarint(b, ct.ID)
	for _, v := range [...]string{ct.LastName, ct.FirstName, ct.MiddleName, ct.Job} {
		b = appendString(b, v)
	}
	return appendStrings(appendStrings(b, ct.Phones), ct.Emails)
}

// addRecord writes rec, which starts with id as a varint; the records
// come by ascending id.
func (s *spill) addRecord(id int64, rec []byte) error {
	if s.n > 0 && s.last >= id {
		return errOutOfOrder
	}
	if len(rec)+4 > math.MaxUint32 {
		return fmt.Errorf("export: record %d too large", id)
	}
	// The record's length (with its own 4 bytes) comes first.
	var head [4]byte
	binary.LittleEndian.PutUint32(head[:], uint32(len(rec)+4)) //nolint:gosec // checked above
	if _, err := s.w.Write(head[:]); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if _, err := s.w.Write(rec); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if s.n%spillRun == 0 {
		s.index = append(s.index, entry{id: id, off: s.size})
	}
	s.n++
	s.last = id
	s.size += int64(len(rec) + 4)
	return nil
}

// done ends the writing: the records can be read.
func (s *spill) done() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// record reads back the record of id (what follows its id). It is the
// spill's own buffer, overwritten by the next read; the run it was read
// from is kept, so that records read in the order of their ids cost one
// ReadAt a run.
func (s *spill) record(id int64) ([]byte, error) {
	// The run that holds id: the last whose first id is not after it.
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].id > id }) - 1
	if i < 0 {
		return nil, errOutOfOrder
	}
	off, end := s.index[i].off, s.size
	if i+1 < len(s.index) {
		end = s.index[i+1].off
	}
	n := int(end - off)
	if s.runAt != i+1 {
		if cap(s.read) < n {
			s.read = make([]byte, n, max(n, 2*cap(s.read)))
		}
		s.runAt, s.lastAt = 0, 0
		if _, err := s.f.ReadAt(s.read[:n], off); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		s.runAt = i + 1
	}
	at := 0
	if s.lastAt > 0 && s.lastID <= id {
		at = s.lastAt - 1
	}
	run := s.read[:n]
	for at+4 <= len(run) {
		size := int(binary.LittleEndian.Uint32(run[at:]))
		if size < 4 || size > len(run)-at {
			return nil, errOutOfOrder
		}
		if v, k := binary.Varint(run[at+4 : at+size]); k > 0 && v == id {
			s.lastID, s.lastAt = id, at+1
			return run[at+4+k : at+size], nil
		}
		at += size
	}
	return nil, errOutOfOrder
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

// decoder reads a record of the spill; a malformed record sets bad.
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
