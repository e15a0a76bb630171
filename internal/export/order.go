package export

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
)

// listOrder is the place of each selected company in the list's order,
// read before the first pass (the ids of the list's order, an index and
// no rows) and looked up as the first pass reads the companies by id.
// Where the ids are dense (they are, unless most companies are outside
// the selection) it is an array by id, 4 bytes an id between the least
// and the greatest; otherwise the ids in ascending order with their
// places, walked in step with the first pass (12 bytes a company).
type listOrder struct {
	n int
	// dense: pos[id-least] is 1 + the place of id, 0 for none.
	least int64
	pos   []int32
	// sparse: ids ascending, places[i] the place of ids[i]; at is where
	// the next look-up starts (the first pass asks in ascending order),
	// while the ids are added the number added.
	ids    []int64
	places []int32
	at     int
}

// readListOrder reads the ids of sel in the list's order.
func readListOrder(ctx context.Context, q database.Streamer, sel company.Selection) (*listOrder, error) {
	n, least, most, err := sel.Span(ctx, q)
	if err != nil {
		return nil, err
	}
	o, err := newListOrder(n, least, most)
	if err != nil {
		return nil, err
	}
	if err := sel.IDs(ctx, q, o.add); err != nil {
		return nil, err
	}
	return o, o.sort()
}

// newListOrder is an empty order of n ids from least to most.
func newListOrder(n int, least, most int64) (*listOrder, error) {
	if n < 0 || n >= math.MaxInt32 {
		return nil, fmt.Errorf("export: %d companies", n)
	}
	o := &listOrder{n: n, least: least}
	if span := most - least + 1; n > 0 && span > 0 && span <= 4*int64(n)+1<<16 {
		o.pos = make([]int32, span)
	} else {
		o.ids, o.places = make([]int64, 0, n), make([]int32, 0, n)
	}
	return o, nil
}

// add adds the next id of the list's order.
func (o *listOrder) add(id int64) error {
	place := o.at
	if place >= o.n {
		return errOutOfOrder // more than were counted
	}
	o.at++
	if o.pos == nil {
		o.ids, o.places = append(o.ids, id), append(o.places, int32(place)) //nolint:gosec // fewer than MaxInt32
		return nil
	}
	if i := id - o.least; i < 0 || i >= int64(len(o.pos)) || o.pos[i] != 0 {
		return errOutOfOrder
	}
	o.pos[id-o.least] = int32(place) + 1 //nolint:gosec // fewer than MaxInt32
	return nil
}

// sort ends the adding: the ids were as many as counted, and sparse ones
// are put in ascending order for place.
func (o *listOrder) sort() error {
	if o.at != o.n {
		return errOutOfOrder
	}
	o.at = 0
	if o.pos == nil {
		sort.Sort(idsAscending{o})
	}
	return nil
}

// idsAscending sorts a sparse order's ids with their places.
type idsAscending struct{ o *listOrder }

func (b idsAscending) Len() int           { return len(b.o.ids) }
func (b idsAscending) Less(i, j int) bool { return b.o.ids[i] < b.o.ids[j] }
func (b idsAscending) Swap(i, j int) {
	o := b.o
	o.ids[i], o.ids[j] = o.ids[j], o.ids[i]
	o.places[i], o.places[j] = o.places[j], o.places[i]
}

// place is the place of the company id in the list's order; ok is false
// for a company the list does not hold. The ids are asked in ascending
// order.
func (o *listOrder) place(id int64) (place int, ok bool) {
	if o.pos != nil {
		if i := id - o.least; i >= 0 && i < int64(len(o.pos)) && o.pos[i] > 0 {
			return int(o.pos[i]) - 1, true
		}
		return 0, false
	}
	for o.at < len(o.ids) && o.ids[o.at] < id {
		o.at++
	}
	if o.at < len(o.ids) && o.ids[o.at] == id {
		return int(o.places[o.at]), true
	}
	return 0, false
}

// buckets keep the companies of an export between its two passes, in
// a temporary file, grouped by their place in the list's order: the
// first pass reads them by id and puts each record in the bucket of its
// place (bucketPlaces places a bucket); the second reads the buckets in
// turn, each whole with a few large reads, and writes its records in the
// order of their places. So neither pass seeks: a spill read back by id
// in the list's order cost a pread a company (≈ 1 µs, 16 % of the CPU of
// a whole export on PostgreSQL).
//
// Each bucket fills a buffer of bucketChunk bytes in memory, written to
// the file as a chunk when full; the file is one sequence of such chunks
// of all buckets. The process holds the buffers (256 at most), one
// bucket's records in the second pass, and the list's order.
type buckets struct {
	f      *os.File
	enc    recordCodec
	order  *listOrder
	places int      // places a bucket holds
	open   [][]byte // each bucket's chunk being filled
	chunks [][]int64
	size   int64  // bytes written to f
	rec    []byte // the record being written
	people []byte // the contacts of the record being written
	n      int    // records written
}

// bucketChunk is the most a chunk of a bucket holds (but for a record
// larger than that, a chunk of its own).
const bucketChunk = 8 << 10

// bucketPlaces is how many places a bucket of an export of n companies
// holds: 4096, or more so that there are at most 256 buckets.
func bucketPlaces(n int) int { return max(4096, (n+255)/256) }

func newBuckets(enc recordCodec, order *listOrder) (*buckets, error) {
	f, err := os.CreateTemp("", "crm-export-*.bin")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	places := bucketPlaces(order.n)
	k := (order.n + places - 1) / places
	return &buckets{f: f, enc: enc, order: order, places: places, open: make([][]byte, k), chunks: make([][]int64, k)}, nil
}

// close removes the file.
func (b *buckets) close() {
	_ = b.f.Close()
	_ = os.Remove(b.f.Name())
}

// add writes the company's record.
func (b *buckets) add(c *company.Company, contacts []Contact) error {
	b.people = b.people[:0]
	for i := range contacts {
		b.people = b.enc.contact(b.people, &contacts[i])
	}
	return b.addEncoded(c, len(contacts), b.people)
}

// addEncoded writes the company's record with its n contacts given as
// the codec's contact wrote them. A record is its length (with the 8
// bytes of the head), its place, the company's id and what the codec
// keeps.
func (b *buckets) addEncoded(c *company.Company, n int, contacts []byte) error {
	place, ok := b.order.place(c.ID)
	if !ok {
		return errOutOfOrder
	}
	rec := b.enc.company(binary.AppendVarint(append(b.rec[:0], 0, 0, 0, 0, 0, 0, 0, 0), c.ID), c, n, contacts)
	b.rec = rec
	if len(rec) > math.MaxUint32 {
		return fmt.Errorf("export: record %d too large", c.ID)
	}
	binary.LittleEndian.PutUint32(rec, uint32(len(rec)))  //nolint:gosec // checked above
	binary.LittleEndian.PutUint32(rec[4:], uint32(place)) //nolint:gosec // fewer than MaxInt32
	k := place / b.places
	buf := b.open[k]
	if len(buf)+len(rec) > bucketChunk && len(buf) > 0 {
		if err := b.writeChunk(k, buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	if len(rec) > bucketChunk {
		b.open[k] = buf
		b.n++
		return b.writeChunk(k, rec)
	}
	if buf == nil {
		buf = make([]byte, 0, bucketChunk)
	}
	b.open[k] = append(buf, rec...)
	b.n++
	return nil
}

func (b *buckets) writeChunk(k int, buf []byte) error {
	if _, err := b.f.Write(buf); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	b.chunks[k] = append(b.chunks[k], b.size, int64(len(buf)))
	b.size += int64(len(buf))
	return nil
}

// done ends the writing: every company of the list has its record.
func (b *buckets) done() error {
	if b.n != b.order.n {
		return errOutOfOrder
	}
	for k, buf := range b.open {
		if len(buf) > 0 {
			if err := b.writeChunk(k, buf); err != nil {
				return err
			}
		}
		b.open[k] = nil
	}
	return nil
}

// each calls fn with the id and record (what follows the id) of each
// company in the list's order.
func (b *buckets) each(fn func(id int64, rec []byte) error) error {
	var data []byte
	at := make([]int, b.places)
	for k, chunks := range b.chunks {
		total := 0
		for i := 1; i < len(chunks); i += 2 {
			total += int(chunks[i])
		}
		if cap(data) < total {
			data = make([]byte, 0, total)
		}
		data = data[:0]
		for i := 0; i < len(chunks); i += 2 {
			off, n := chunks[i], int(chunks[i+1])
			if _, err := b.f.ReadAt(data[len(data):len(data)+n], off); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			data = data[:len(data)+n]
		}
		first := k * b.places
		count := min(b.places, b.order.n-first)
		for i := range count {
			at[i] = -1
		}
		for p := 0; p < len(data); {
			if len(data)-p < 8 {
				return errOutOfOrder
			}
			size, place := int(binary.LittleEndian.Uint32(data[p:])), int(binary.LittleEndian.Uint32(data[p+4:]))
			if size < 8 || size > len(data)-p || place < first || place >= first+count || at[place-first] >= 0 {
				return errOutOfOrder
			}
			at[place-first] = p
			p += size
		}
		for i := range count {
			p := at[i]
			if p < 0 {
				return errOutOfOrder
			}
			size := int(binary.LittleEndian.Uint32(data[p:]))
			rec := data[p+8 : p+size]
			id, n := binary.Varint(rec)
			if n <= 0 {
				return errOutOfOrder
			}
			if err := fn(id, rec[n:]); err != nil {
				return err
			}
		}
	}
	return nil
}
