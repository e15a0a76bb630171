package export

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/company"
)

// TestListOrderPlacesEveryID: the places of the list's ids are found
// by id in ascending order, for dense ids (an array by id) and sparse
// ones (sorted pairs); an id the list does not hold has none; an id
// twice, or one outside the table's ids, is an error.
func TestListOrderPlacesEveryID(t *testing.T) {
	for name, ids := range map[string][]int64{
		"dense":  {5, 3, 9, 1, 4},
		"sparse": {1 << 40, 3, 1 << 20, 1, 1<<40 + 1},
	} {
		t.Run(name, func(t *testing.T) {
			least, most := ids[0], ids[0]
			for _, id := range ids {
				least, most = min(least, id), max(most, id)
			}
			o, err := newListOrder(least, most)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(o.close)
			for _, id := range ids {
				if err := o.add(id); err != nil {
					t.Fatal(err)
				}
			}
			if err := o.sort(); err != nil {
				t.Fatal(err)
			}
			if o.n != len(ids) {
				t.Errorf("n = %d, want %d", o.n, len(ids))
			}
			if _, _, err := o.place(least); err != nil || o.dense != (name == "dense") {
				t.Fatalf("dense = %v, %v", o.dense, err)
			}
			want := map[int64]int{}
			for i, id := range ids {
				want[id] = i
			}
			for id := least - 1; id <= min(most+1, 12); id++ { // ascending, as the first pass asks
				place, ok, err := o.place(id)
				if w, in := want[id]; err != nil || ok != in || ok && place != w {
					t.Errorf("id %d: place %d, %v; want %d, %v", id, place, ok, w, in)
				}
			}
			if place, ok, err := o.place(most); err != nil || !ok || place != want[most] {
				t.Errorf("id %d: place %d, %v", most, place, ok)
			}
		})
	}
	for name, span := range map[string]int64{"dense": 3, "sparse": 1 << 40} {
		o, err := newListOrder(1, span)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(o.close)
		if err := errors.Join(o.add(1), o.add(span), o.add(1), o.sort()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := o.place(1); err == nil {
			t.Errorf("%s: an id added twice was looked up", name)
		}
	}
	o, _ := newListOrder(1, 3)
	t.Cleanup(o.close)
	if o.add(0) == nil || o.add(4) == nil {
		t.Error("an id outside the span was added")
	}
	if _, err := newListOrder(3, 1); err == nil {
		t.Error("an order of no span was made")
	}
}

// TestListOrderOfManyPartsStaysSmall: a million ids in a shuffled order,
// dense and sparse, are found in ascending order over the parts of the
// order's file, while the process keeps a part of them: the whole
// order's places were 4 MB (dense) or 12 MB (sparse) of the heap.
func TestListOrderOfManyPartsStaysSmall(t *testing.T) {
	const n = 1_000_000
	for name, step := range map[string]int64{"dense": 1, "sparse": 1000} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			o, err := newListOrder(step, n*step)
			if err != nil {
				t.Fatal(err)
			}
			defer o.close()
			for i := range int64(n) {
				if err := o.add((i*7919%n + 1) * step); err != nil {
					t.Fatal(err)
				}
			}
			if err := o.sort(); err != nil {
				t.Fatal(err)
			}
			for id := int64(1); id <= n; id++ {
				place, ok, err := o.place(id * step)
				if err != nil || !ok || int64(place)*7919%n+1 != id {
					t.Fatalf("id %d: place %d, %v, %v", id*step, place, ok, err)
				}
				if _, ok, _ := o.place(id*step + 1); ok && step > 1 {
					t.Fatalf("id %d, not added, has a place", id*step+1)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if after.HeapAlloc > before.HeapAlloc+2<<20 {
				grown := after.HeapAlloc - before.HeapAlloc
				t.Errorf("the heap grew by %d kB over %d ids", grown>>10, n)
			}
		})
	}
}

// namesCodec keeps a company as its name, and writes the names out.
type namesCodec struct{ out []string }

func (c *namesCodec) contact(dst []byte, ct *Contact) []byte { return append(dst, ct.LastName...) }

func (c *namesCodec) company(dst []byte, co *company.Company, _ int, contacts []byte) []byte {
	return append(append(dst, co.Name...), contacts...)
}

func (c *namesCodec) write(id int64, rec []byte) error {
	c.out = append(c.out, fmt.Sprint(id, ":", string(rec)))
	return nil
}

// TestBucketsWriteTheListsOrder: companies added by id over several
// buckets, one of them larger than a chunk, come out in the list's
// order; a company the list does not hold, or one it holds but the
// first pass did not add, is an error.
func TestBucketsWriteTheListsOrder(t *testing.T) {
	n := 2*bucketPlaces(0) + 17
	list := make([]int64, n) // the list's order: ids 1…n shuffled
	for i := range list {
		list[i] = int64((i*7919)%n + 1)
	}
	build := func(t *testing.T, skip int64) (*buckets, *namesCodec, error) {
		t.Helper()
		o, err := newListOrder(1, int64(n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(o.close)
		for _, id := range list {
			if err := o.add(id); err != nil {
				t.Fatal(err)
			}
		}
		if err := o.sort(); err != nil {
			t.Fatal(err)
		}
		codec := &namesCodec{}
		b, err := newBuckets(codec, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.close)
		for id := int64(1); id <= int64(n); id++ {
			if id == skip {
				continue
			}
			c := company.Company{ID: id, Name: fmt.Sprint("c", id)}
			var people []Contact
			if id == 42 {
				people = []Contact{{LastName: strings.Repeat("я", bucketChunk)}}
			}
			if err := b.add(&c, people); err != nil {
				t.Fatal(err)
			}
		}
		return b, codec, b.done()
	}
	b, codec, err := build(t, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.each(codec.write); err != nil {
		t.Fatal(err)
	}
	if len(codec.out) != n {
		t.Fatalf("%d companies written, want %d", len(codec.out), n)
	}
	for i, id := range list {
		want := fmt.Sprint(id, ":c", id)
		if id == 42 {
			want += strings.Repeat("я", bucketChunk)
		}
		if codec.out[i] != want {
			t.Fatalf("place %d: %.20q, want %.20q", i, codec.out[i], want)
		}
	}
	if err := b.add(&company.Company{ID: int64(n) + 1}, nil); err == nil {
		t.Error("a company the list does not hold was added")
	}
	if _, _, err := build(t, 5); err == nil {
		t.Error("a company of the list missing from the first pass went unnoticed")
	}
}
