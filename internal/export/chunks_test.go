package export

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

// TestChunkFileReadsBackEachPartInOrder: pieces added to parts in turn,
// some larger than a buffer, come back part by part in the order they
// were added, over many chunks, while the process keeps no index of the
// chunks (16 bytes a chunk were 3 MB here).
func TestChunkFileReadsBackEachPartInOrder(t *testing.T) {
	const parts, pieces = 3, 200_000
	c, err := newChunkFile(parts, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	piece := func(i int) []byte {
		p := fmt.Appendf(nil, "<%d>", i)
		if i%50_000 == 7 {
			p = append(p, bytes.Repeat([]byte("я"), 100)...) // a chunk of its own
		}
		return p
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range pieces {
		if err := c.add(i%parts, piece(i)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > before.HeapAlloc+256<<10 {
		grown := after.HeapAlloc - before.HeapAlloc
		t.Errorf("the heap grew by %d kB over %d chunks", grown>>10, c.size/64)
	}
	if err := c.done(); err != nil {
		t.Fatal(err)
	}
	for k := range parts {
		var want []byte
		for i := k; i < pieces; i += parts {
			want = append(want, piece(i)...)
		}
		got, err := c.pieces(k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("part %d: %d bytes read back, want %d", k, len(got), len(want))
		}
	}
}
