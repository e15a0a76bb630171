//go:build linux

package memlimit

import (
	"runtime/debug"
	"syscall"
	"testing"
	"time"
)

// TestCollectWithinGivesTheGoHeapWhatTheRestLeaves: memory the Go runtime
// does not hold (here 48 MB mapped and written outside it, as SQLite's C
// heap is) lowers the Go heap's limit by as much, down to half of it, and
// gives it back when freed; restore puts the process's settings back.
func TestCollectWithinGivesTheGoHeapWhatTheRestLeaves(t *testing.T) {
	prevLimit := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(prevLimit)
	prevPercent := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prevPercent)

	const limit, outside = 64 << 20, 48 << 20
	rss, ok := residentBytes()
	if !ok {
		t.Skip("no /proc/self/statm")
	}
	rest := rss - goHeld()
	restore := CollectWithin(limit, rest+limit+8<<20) // room for the rest as it is, and 8 MB more
	waitLimit(t, "before the mapping", limit)

	mem, err := syscall.Mmap(-1, 0, outside, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1 // resident
	}
	waitLimit(t, "with 48 MB outside Go", limit/2) // 64+8−48 = 24 MB, below the floor
	if err := syscall.Munmap(mem); err != nil {
		t.Fatal(err)
	}
	waitLimit(t, "after the mapping", limit)

	restore()
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Fatalf("limit %d after restore, want %d", got, int64(1<<40))
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC %d after restore, want 100", got)
	}
}

// waitLimit waits up to 2 s for the Go memory limit to be want, within
// the 1 MB CollectWithin leaves unchanged plus a few MB of the test's own
// memory that moves meanwhile.
func waitLimit(t *testing.T, when string, want int64) {
	t.Helper()
	var got int64
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = debug.SetMemoryLimit(-1); got > want-4<<20 && got <= want {
			return
		}
	}
	t.Fatalf("%s: Go memory limit %d MB, want %d MB", when, got>>20, want>>20)
}
