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
