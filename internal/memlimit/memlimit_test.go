package memlimit

import (
	"runtime/debug"
	"testing"
)

func TestLowerKeepsALowerLimitAndRestores(t *testing.T) {
	prev := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(prev)

	restore := Lower(64 << 20)
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Fatalf("limit %d while lowered, want %d", got, 64<<20)
	}
	inner := Lower(128 << 20) // higher than the limit in force: kept
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Fatalf("a higher limit replaced a lower one: %d", got)
	}
	inner()
	restore()
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Fatalf("limit %d after restore, want %d", got, int64(1<<40))
	}
	Lower(0)()
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Fatalf("Lower(0) changed the limit to %d", got)
	}
}

func TestCollectAtPacesByTheLimitAloneAndRestores(t *testing.T) {
	prevLimit := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(prevLimit)
	prevPercent := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prevPercent)

	restore := CollectAt(64 << 20)
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Fatalf("limit %d while collecting at it, want %d", got, 64<<20)
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("GOGC %d while collecting at the limit, want off (-1)", got)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Fatalf("limit %d after restore, want %d", got, int64(1<<40))
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC %d after restore, want 100", got)
	}
	CollectAt(0)()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("CollectAt(0) changed GOGC to %d", got)
	}
}
