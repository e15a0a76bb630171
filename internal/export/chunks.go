package export

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// chunkFile is a temporary file of numbered parts, each written a piece
// at a time in any interleaving and read back whole: the buckets of the
// export's companies and the parts of the list's order. Each part fills
// a buffer in memory, written to the file as a chunk when full; a chunk
// starts with where the part's chunk before it is, so the process keeps
// a few numbers a part, not an index that grows with the file (16 bytes
// a chunk, a megabyte at a million companies, twice that while it grew
// by append).
type chunkFile struct {
	f     *os.File
	w     *bufio.Writer // f's writes, chunkWrites bytes at a time
	size  int64         // bytes written to f (through w)
	chunk int           // the most a part's buffer holds, its head included
	parts []chunkPart
	large []byte // a chunk of one piece larger than a buffer
	read  []byte // what a read read, reused
}

// chunkPart is a part of a chunkFile.
type chunkPart struct {
	buf   []byte // the chunk being filled, its head first
	last  int64  // 1 + the offset of the part's last chunk written; 0 for none
	lastN int    // the length of that chunk's pieces
	total int64  // the length of all the part's pieces written
}

// chunkHead is the head of a chunk: the offset (plus one) and the
// length of the pieces of the part's chunk before it.
const chunkHead = 12

// chunkWrites is how much of the file a chunkFile writes at once: its
// chunks are small (8 kB for the buckets), and written one by one they
// were a write system call each, 70,000 at a million companies.
const chunkWrites = 256 << 10

// newChunkFile makes a file of n parts whose buffers hold chunk bytes.
func newChunkFile(n, chunk int) (*chunkFile, error) {
	f, err := os.CreateTemp("", "crm-export-*.bin")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &chunkFile{f: f, w: bufio.NewWriterSize(f, chunkWrites), chunk: chunk, parts: make([]chunkPart, n)}, nil
}

// close removes the file.
func (c *chunkFile) close() {
	_ = c.f.Close()
	_ = os.Remove(c.f.Name())
}

// add appends piece to part k. A piece is never split between chunks.
func (c *chunkFile) add(k int, piece []byte) error {
	p := &c.parts[k]
	if len(p.buf)+len(piece) > c.chunk && len(p.buf) > chunkHead {
		if err := c.write(p, p.buf); err != nil {
			return err
		}
		p.buf = p.buf[:chunkHead]
	}
	if chunkHead+len(piece) > c.chunk {
		c.large = append(append(c.large[:0], make([]byte, chunkHead)...), piece...)
		return c.write(p, c.large)
	}
	if p.buf == nil {
		p.buf = make([]byte, chunkHead, c.chunk)
	}
	p.buf = append(p.buf, piece...)
	return nil
}

// write writes chunk (its head left to fill) as part p's next.
func (c *chunkFile) write(p *chunkPart, chunk []byte) error {
	if len(chunk)-chunkHead > math.MaxUint32 {
		return fmt.Errorf("export: a chunk of %d bytes", len(chunk))
	}
	binary.LittleEndian.PutUint64(chunk, uint64(p.last))      //nolint:gosec // an offset, not negative
	binary.LittleEndian.PutUint32(chunk[8:], uint32(p.lastN)) //nolint:gosec // checked when written
	if _, err := c.w.Write(chunk); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	p.last, p.lastN = c.size+1, len(chunk)-chunkHead
	p.total += int64(p.lastN)
	c.size += int64(len(chunk))
	return nil
}

// done writes what the buffers hold and lets them go.
func (c *chunkFile) done() error {
	for k := range c.parts {
		p := &c.parts[k]
		if len(p.buf) > chunkHead {
			if err := c.write(p, p.buf); err != nil {
				return err
			}
		}
		p.buf = nil
	}
	c.large = nil
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// pieces returns the pieces of part k one after another, as they were
// added, in a buffer of c's reused by the next call. Its chunks are read from the last to
// the first, each into its place in buf: a chunk's head lands where the
// chunk before it ends, and is overwritten when that one is read.
func (c *chunkFile) pieces(k int) ([]byte, error) {
	if c.w.Buffered() > 0 { // read before done: what is written so far
		if err := c.w.Flush(); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	p := &c.parts[k]
	size := chunkHead + int(p.total)
	if cap(c.read) < size {
		c.read = make([]byte, size)
	}
	buf := c.read[:size]
	end, at, n := size, p.last, p.lastN
	for at != 0 {
		start := end - n - chunkHead
		if start < 0 {
			return nil, errOutOfOrder
		}
		if _, err := c.f.ReadAt(buf[start:end], at-1); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		at, n = int64(binary.LittleEndian.Uint64(buf[start:])), int(binary.LittleEndian.Uint32(buf[start+8:])) //nolint:gosec // written by write
		end = start + chunkHead
	}
	if end != chunkHead {
		return nil, errOutOfOrder
	}
	return buf[chunkHead:], nil
}
