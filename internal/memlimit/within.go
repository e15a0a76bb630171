package memlimit

import (
	"bytes"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// withinEvery is how often CollectWithin reads the process's memory: the
// C library's heap grows by a few MB a second at most (SQLite's page
// cache filling), and a read costs a few microseconds.
const withinEvery = 50 * time.Millisecond

// CollectWithin is CollectAt(limit) for a process part of whose memory
// the Go runtime neither holds nor sees — SQLite's page cache, sorters
// and statement journals in the C library's heap, its WAL index mapped
// from a file, the program's own code — and which must stay within
// budget as a whole. Every withinEvery it reads the process's resident
// memory, takes away what the Go runtime holds, and gives the Go heap
// what is left of budget, at most limit and at least limit/2 (a floor
// that keeps the collector from running without end when the rest alone
// fills the budget). While the rest stays below budget−limit nothing
// changes; as it grows past that, the Go heap is collected sooner
// instead, where an import's live heap (10–20 MB) leaves the room: an
// import of 1,000,000 rows into SQLite held 11 MB more outside Go while
// applying than one of 100,000 did (its transaction's WAL index, the C
// heap), with the Go runtime at its limit in both. Where the process's
// memory cannot be read (not Linux) it is CollectAt(limit).
func CollectWithin(limit, budget int64) (restore func()) {
	if limit <= 0 {
		return func() {}
	}
	if _, ok := residentBytes(); !ok || budget <= 0 {
		return CollectAt(limit)
	}
	prevPercent := debug.SetGCPercent(-1)
	prevLimit := debug.SetMemoryLimit(-1)
	limit = min(limit, prevLimit)
	debug.SetMemoryLimit(limit)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(withinEvery)
		defer tick.Stop()
		set := limit
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			rss, ok := residentBytes()
			if !ok {
				continue
			}
			outside := max(0, rss-goHeld())
			want := min(limit, max(limit/2, budget-outside))
			if d := want - set; d >= 1<<20 || d <= -1<<20 {
				debug.SetMemoryLimit(want)
				set = want
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		debug.SetMemoryLimit(prevLimit)
		debug.SetGCPercent(prevPercent)
	}
}

// goHeld is the memory the Go runtime holds: all it mapped, less what it
// gave back to the system — what its memory limit counts.
func goHeld() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64()) //nolint:gosec // bytes of this process's memory
}

// residentBytes is the process's resident memory (Linux: /proc/self/statm,
// its second field, in pages).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
