package export

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
)

// listOrder is the place of each selected company in the list's order,
// read before the first pass (the ids of the list's order, an index and
// no rows) and looked up as the first pass reads the companies by id.
// The ids are kept in parts by their value (a chunkFile), each id with
// its place: the first pass, asking in ascending order, reads a part at
// a time. The parts divide the span of the companies' ids (the table's
// least and greatest, two index look-ups), so that the ids are read in
// one statement, with no count of the selection before them: a count
// ran the search a second time (a whole export of a million companies:
// 0.18 s of three server processes, at the time the server's CPU is the
// export's bottleneck). A part whose ids are dense (they are, unless
// most companies are outside the selection) is loaded as an array by
// id, 4 bytes an id of its span; one of sparse ids, as its ids sorted
// with their places (12 bytes an id). So the process holds one part and
// a buffer a part, however many the companies: an array of the whole
// list's places was 4 bytes a company.
type listOrder struct {
	n           int // ids added
	least, most int64
	width       int64 // the span of ids a part holds
	parts       *chunkFile
	entry       [12]byte // an id and its place, as a part keeps it
	// The part loaded for look-ups (-1 for none) and its places: dense,
	// pos[id-first] is 1 + the place of id (0 for none); sparse, ids
	// ascending and places[i] the place of ids[i].
	part   int
	dense  bool
	pos    []int32
	ids    []int64
	places []int32
}

// orderPart is how many ids a part of the list's order spans (but for
// the widest spans: see orderParts).
const orderPart = 1 << 16

// orderParts is the most parts a list's order has.
const orderParts = 256

// orderChunk is the buffer of a part of the list's order.
const orderChunk = 4 << 10

// readListOrder reads the ids of sel in the list's order.
func readListOrder(ctx context.Context, q database.Streamer, sel company.Selection) (*listOrder, error) {
	least, most, err := company.IDBounds(ctx, q)
	if err != nil {
		return nil, err
	}
	o, err := newListOrder(least, most)
	if err != nil {
		return nil, err
	}
	if err := sel.IDs(ctx, q, o.add); err != nil {
		o.close()
		return nil, err
	}
	if err := o.sort(); err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

// newListOrder is an empty order of ids from least to most.
func newListOrder(least, most int64) (*listOrder, error) {
	if most < least {
		return nil, fmt.Errorf("export: ids from %d to %d", least, most)
	}
	o := &listOrder{least: least, most: most, part: -1}
	span := uint64(most-least) + 1 //nolint:gosec // most ≥ least
	parts := min(orderParts, (span+orderPart-1)/orderPart)
	o.width = int64((span + parts - 1) / parts) //nolint:gosec // at most the span
	var err error
	o.parts, err = newChunkFile(int(parts), orderChunk) //nolint:gosec // at most orderParts
	return o, err
}

// close removes the parts' file.
func (o *listOrder) close() { o.parts.close() }

// add adds the next id of the list's order.
func (o *listOrder) add(id int64) error {
	if id < o.least || id > o.most {
		return errOutOfOrder // outside the ids of the table
	}
	if o.n >= math.MaxInt32-1 {
		return fmt.Errorf("export: more than %d companies", o.n)
	}
	binary.LittleEndian.PutUint64(o.entry[:], uint64(id))   //nolint:gosec // kept as is
	binary.LittleEndian.PutUint32(o.entry[8:], uint32(o.n)) //nolint:gosec // fewer than MaxInt32
	o.n++
	return o.parts.add(int((id-o.least)/o.width), o.entry[:])
}

// sort ends the adding.
func (o *listOrder) sort() error { return o.parts.done() }

// place is the place of the company id in the list's order; ok is false
// for a company the list does not hold. The ids are asked in ascending
// order (an id of a part before the last asked reads it again). An id
// the list holds twice is an error.
func (o *listOrder) place(id int64) (place int, ok bool, err error) {
	if id < o.least || id > o.most {
		return 0, false, nil
	}
	k := int((id - o.least) / o.width)
	if k != o.part {
		if err := o.load(k); err != nil {
			return 0, false, err
		}
	}
	if o.dense {
		if p := o.pos[id-o.least-int64(k)*o.width]; p > 0 {
			return int(p) - 1, true, nil
		}
		return 0, false, nil
	}
	i, found := slices.BinarySearch(o.ids, id)
	if !found {
		return 0, false, nil
	}
	return int(o.places[i]), true, nil
}

// load reads part k for look-ups.
func (o *listOrder) load(k int) error {
	o.part = -1
	data, err := o.parts.pieces(k)
	if err != nil {
		return err
	}
	first := o.least + int64(k)*o.width
	// Dense when it holds an id for each 4 of its span or more (or its
	// span is small): its array is then 16 bytes an id it holds at most,
	// beside 256 kB.
	count := int64(len(data) / len(o.entry))
	o.dense = o.width <= 4*count+orderPart
	if o.dense {
		if int64(cap(o.pos)) < o.width {
			o.pos = make([]int32, o.width)
		}
		o.pos = o.pos[:o.width]
		clear(o.pos)
	} else {
		o.ids, o.places = o.ids[:0], o.places[:0]
	}
	for at := 0; at+12 <= len(data); at += 12 {
		id, place := int64(binary.LittleEndian.Uint64(data[at:])), int32(binary.LittleEndian.Uint32(data[at+8:])) //nolint:gosec // written by add
		if o.dense {
			if o.pos[id-first] != 0 {
				return errOutOfOrder // an id twice
			}
			o.pos[id-first] = place + 1
		} else {
			o.ids, o.places = append(o.ids, id), append(o.places, place)
		}
	}
	if !o.dense {
		sort.Sort(idsAscending{o})
		for i := 1; i < len(o.ids); i++ {
			if o.ids[i] == o.ids[i-1] {
				return errOutOfOrder // an id twice
			}
		}
	}
	o.part = k
	return nil
}

// idsAscending sorts a sparse part's ids with their places.
type idsAscending struct{ o *listOrder }

func (b idsAscending) Len() int           { return len(b.o.ids) }
func (b idsAscending) Less(i, j int) bool { return b.o.ids[i] < b.o.ids[j] }
func (b idsAscending) Swap(i, j int) {
	o := b.o
	o.ids[i], o.ids[j] = o.ids[j], o.ids[i]
	o.places[i], o.places[j] = o.places[j], o.places[i]
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
// The buckets are the parts of a chunkFile whose buffers hold
// bucketChunk bytes. The process holds the buffers (256 at most), one
// bucket's records in the second pass, and a part of the list's order.
type buckets struct {
	file   *chunkFile
	enc    recordCodec
	order  *listOrder
	places int    // places a bucket holds
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
	places := bucketPlaces(order.n)
	file, err := newChunkFile((order.n+places-1)/places, bucketChunk)
	if err != nil {
		return nil, err
	}
	return &buckets{file: file, enc: enc, order: order, places: places}, nil
}

// close removes the file.
func (b *buckets) close() { b.file.close() }

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
	place, ok, err := b.order.place(c.ID)
	if err != nil {
		return err
	}
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
	b.n++
	return b.file.add(place/b.places, rec)
}

// done ends the writing: every company of the list has its record.
func (b *buckets) done() error {
	if b.n != b.order.n {
		return errOutOfOrder
	}
	return b.file.done()
}

// each calls fn with the id and record (what follows the id) of each
// company in the list's order.
func (b *buckets) each(fn func(id int64, rec []byte) error) error {
	at := make([]int, b.places)
	for k := range b.file.parts {
		data, err := b.file.pieces(k)
		if err != nil {
			return err
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
